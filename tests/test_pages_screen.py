"""What the pages show under Streamlit's AppTest: threshold methods keep their parameters, an unsaved model is set
aside rather than dropped, runs are named readably and renamed on the Runs page, and the demos' data notes."""

from pathlib import Path

import numpy as np
import pytest
from test_pages import (  # noqa: F401 (navigation_runs_app_py: an autouse fixture)
    apply_scenario,
    button,
    go,
    labelled,
    navigation_runs_app_py,
    start_app,
    train,
    workspace,
)

from core.config import ThresholdConfig
from core.data import builtin as builtin_data
from core.data.registry import _load_builtin
from core.thresholds import choose_threshold

# method -> (its parameter, a value other than the default)
PARAMETERS = {"quantile": ("q", 0.9), "mean_std": ("k", 1.5), "contamination": ("rate", 0.05), "fpr": ("rate", 0.2)}


def small_digits(at):
    return apply_scenario(at, **{"Normal classes": [0, 1, 2, 3, 4], "Anomaly classes": [7], "Sample limit": 300})


def sidebar_buttons(at) -> list[str]:
    return [b.label for b in at.sidebar.button]


def test_a_method_chosen_again_keeps_its_parameter_after_a_typed_threshold_made_it_manual():
    at = small_digits(start_app())
    train(at, epochs=1)
    go(at, "pages/threshold.py")
    result = workspace(at).result
    for method, (name, value) in PARAMETERS.items():
        at.selectbox(key="threshold:method").set_value(method).run()
        at.number_input(key=f"threshold:{name}").set_value(value).run()
        at.number_input(key="threshold:typed").set_value(float(np.quantile(result.scores, 0.5))).run()
        assert at.selectbox(key="threshold:method").value == "value"
        at.run()  # a rerun while the box is hidden: Streamlit forgets a widget that is not drawn
        at.selectbox(key="threshold:method").set_value(method).run()
        at.run()
        assert not at.exception and not at.error
        assert at.number_input(key=f"threshold:{name}").value == pytest.approx(value), method
        assert getattr(workspace(at).config.threshold, name) == pytest.approx(value), method
        expected = choose_threshold(
            ThresholdConfig(method=method, **{name: value}), result.scores, result.train_scores, result.data.labels
        )
        assert workspace(at).result.threshold.value == pytest.approx(expected.value), method
        assert f"{value:g}" in at.info[0].value or f"{value:.2%}" in at.info[0].value, at.info[0].value


def test_an_unsaved_model_is_set_aside_and_comes_back_and_runs_are_named_and_renamed():
    at = small_digits(start_app())
    train(at, epochs=1)
    first = workspace(at).result
    assert "Bring it back" not in sidebar_buttons(at)
    go(at, "pages/home.py")
    assert any("not saved" in info.value for info in at.info)

    train(at, epochs=2)  # replaces the unsaved first model
    second = workspace(at).result
    assert workspace(at).set_aside is first
    assert "Bring it back" in sidebar_buttons(at)
    [back] = [b for b in at.sidebar.button if b.label == "Bring it back"]
    back.click().run()
    assert workspace(at).result is first and workspace(at).set_aside is second

    go(at, "pages/train.py")
    button(at, "Save run").click().run()
    folder = Path(workspace(at).saved_run)
    go(at, "pages/runs.py")
    [name] = at.selectbox[0].options
    assert name.startswith("Digits (8×8, offline) · ") and folder.name not in name
    assert list(at.dataframe[0].value["name"]) == [name]
    at.selectbox[0].set_value(name).run()
    labelled(at.text_input, "New name").input("Baseline digits")
    [rename] = [b for b in at.button if b.label == "Rename"]
    rename.click().run()
    assert not at.error, at.error[0].value
    assert at.selectbox[0].options == ["Baseline digits"] and at.selectbox[0].value == "Baseline digits"
    assert list(at.dataframe[0].value["id"]) == [folder.name] and folder.is_dir()
    assert "Baseline digits" in at.sidebar.markdown[0].value

    [back] = [b for b in at.sidebar.button if b.label == "Bring it back"]
    back.click().run()  # the second model (unsaved) again; the first is saved, so nothing is set aside
    assert workspace(at).result is second and workspace(at).set_aside is None
    go(at, "pages/runs.py")
    at.selectbox[0].set_value("Baseline digits").run()
    button(at, "Open").click().run()  # opening a run while the second model is unsaved sets that aside
    assert workspace(at).set_aside is second
    assert "Bring it back" in sidebar_buttons(at)


def test_home_cards_say_where_each_demos_data_comes_from_and_offline_the_error_points_at_the_data_folder(
    monkeypatch, shared_data_dir
):
    at = start_app()
    notes = {
        b.key.removeprefix("preset:"): caption
        for b, caption in zip(
            [b for b in at.button if b.key and b.key.startswith("preset:")],
            [c.value for c in at.caption if "data" in c.value.lower() and ":material/" in c.value],
            strict=True,
        )
    }
    assert "Its data is here" in notes["digits_quick"]
    assert "Downloads its data on first use" in notes["ecg5000"] and "Data folder" in notes["ecg5000"]
    with_folder = start_app(data_dir=shared_data_dir)
    assert sum("Its data is here" in c.value for c in with_folder.caption) == len(notes)

    def offline(downloads):
        raise builtin_data.DownloadFailed("no network")

    monkeypatch.setattr(builtin_data, "_download", offline)
    _load_builtin.cache_clear()
    try:
        [card] = [b for b in at.button if b.key == "preset:ecg5000"]
        card.click().run()
        assert at.title[0].value == "Train"
        [error] = at.error
        assert "could not be downloaded (no network)" in error.value
        assert "put ecg.csv in <data folder>/ecg5000/" in error.value
        assert "Data folder field on the Dataset page" in error.value
    finally:
        _load_builtin.cache_clear()
