"""The Flagged page under AppTest: its lists (all flagged, false alarms, missed anomalies, by class) and their
counts, the CSV's rows, the shared colour scale of the error maps, the grid, and tables and series."""

import base64
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.pages_manager import PagesManager
from test_pages import (  # noqa: F401 (navigation_runs_app_py: an autouse fixture)
    apply_scenario,
    go,
    labelled,
    navigation_runs_app_py,
    start_app,
    train,
    upload,
    workspace,
)

from core.thresholds import ThresholdChoice


@pytest.fixture(scope="module")
def digits_session():
    """The id of a session whose digits_quick model trained for one epoch (shared: training once is enough)."""
    with pytest.MonkeyPatch.context() as patch:
        original_init = PagesManager.__init__

        def init(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            PagesManager.uses_pages_directory = False

        patch.setattr(PagesManager, "__init__", init)
        at = start_app()
        [card] = [b for b in at.button if b.key == "preset:digits_quick"]
        card.click().run()
        train(at, epochs=1)
        return at.session_state["workspace"]


def flagged_page(session: str, quantile: float = 0.6):
    """The Flagged page of `session` with the threshold at the `quantile` of its scores; (page, result, value)."""
    at = start_app(session=session)
    result = workspace(at).result
    value = float(np.quantile(result.scores, quantile))
    ws = workspace(at)
    ws.result = result.with_threshold(ThresholdChoice(value, "value", "set by the test"))
    return go(at, "pages/flagged.py"), result, value


def listed(at) -> pd.DataFrame:
    """The table of the listed samples (what the CSV download holds)."""
    [table] = [frame.value for frame in at.dataframe if "rank" in frame.value.columns]
    return table


def card_figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart") if chart.key.startswith("flagged_")]


def array(value) -> np.ndarray:
    """A figure's data array, decoded when Plotly sent it as base64 ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict):
        shape = [int(size) for size in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def error_map(figure: dict) -> dict:
    [trace] = [trace for trace in figure["data"] if trace.get("name") == "error"]
    return trace


def test_the_lists_counts_are_what_scores_labels_and_threshold_imply(digits_session):
    at, result, value = flagged_page(digits_session)
    scores, labels = result.scores, result.data.labels
    above = scores > value
    expected = {
        "flagged": int(above.sum()),
        "false_alarms": int((above & (labels == 0)).sum()),
        "missed": int((~above & (labels == 1)).sum()),
    }
    assert min(expected.values()) > 0, "the test needs some of each"
    show = at.segmented_control(key="flagged_show")
    assert show.options == [
        f"All flagged ({expected['flagged']})",
        f"False alarms ({expected['false_alarms']})",
        f"Missed anomalies ({expected['missed']})",
    ]
    table = listed(at)
    assert len(table) == expected["flagged"] and table["flagged"].all()
    assert table["error"].is_monotonic_decreasing

    show.set_value("false_alarms").run()
    table = listed(at)
    assert len(table) == expected["false_alarms"]
    assert (table["truth"] == "normal").all() and table["flagged"].all()
    titles = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert len(titles) == min(12, expected["false_alarms"])
    assert all(":orange-badge[false alarm] · class" in title for title in titles)

    at.segmented_control(key="flagged_show").set_value("missed").run()
    table = listed(at)
    assert len(table) == expected["missed"]
    assert (table["truth"] == "anomaly").all() and not table["flagged"].any(), "the CSV says what each row really is"
    assert (table["error"] <= value).all() and table["error"].is_monotonic_decreasing, "the nearest misses first"
    assert set(table["sample"]) == set(result.data.indices[~above & (labels == 1)])
    titles = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert len(titles) == min(12, expected["missed"]) and all(
        ":violet-badge[missed anomaly] · class" in title for title in titles
    )
    assert at.number_input(key="flagged_page").max == -(-expected["missed"] // 12)


def test_the_class_filter_narrows_every_list_and_its_count(digits_session):
    at, result, value = flagged_page(digits_session, quantile=0.5)
    at.multiselect(key="flagged_classes").set_value(["7"]).run()
    sevens = result.data.classes == 7
    above = result.scores > value
    assert at.segmented_control(key="flagged_show").options[0] == f"All flagged ({int((above & sevens).sum())})"
    assert at.segmented_control(key="flagged_show").options[2] == f"Missed anomalies ({int((~above & sevens).sum())})"
    table = listed(at)
    assert len(table) == int((above & sevens).sum()) and (table["class"] == "7").all()


def test_error_maps_share_one_colour_scale_unless_per_sample(digits_session):
    at, result, _ = flagged_page(digits_session)
    figures = card_figures(at)
    assert len(figures) == 12
    [shared] = {error_map(figure)["zmax"] for figure in figures}
    [colour_bar] = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "error_colour_bar"]
    assert colour_bar["data"][0]["zmax"] == shared, "every card and the colour bar show one scale"
    peaks = [array(error_map(figure)["z"]).max() for figure in figures]
    assert max(peaks) <= shared * (1 + 1e-6) and min(peaks) < 0.9 * shared, "weak maps must look weaker"

    at.toggle(key="flagged_per_sample_scale").set_value(True).run()
    figures = card_figures(at)
    own_scales = [error_map(figure)["zmax"] for figure in figures]
    assert own_scales == pytest.approx([array(error_map(figure)["z"]).max() for figure in figures], rel=1e-5)
    assert len(set(own_scales)) > 1
    assert not [c for c in at.get("plotly_chart") if c.key == "error_colour_bar"]


def test_the_grid_has_as_many_cards_per_row_as_chosen(digits_session):
    at, _, _ = flagged_page(digits_session)
    for per_row in (2, 4, 3):
        at.segmented_control(key="flagged_per_row").set_value(per_row).run()
        cards = [c for c in at.columns if c.weight == pytest.approx(1 / per_row) and c.children]
        assert len(cards) == 12, f"{per_row} per row"


def test_a_table_shows_each_features_error_by_its_column_name(tmp_path):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True)
    table = wine.data.assign(label=wine.target)
    at = upload(start_app(), "wine.csv", table.to_csv(index=False).encode())
    assert not at.error, at.error[0].value
    apply_scenario(at, **{"Normal classes": [0, 1], "Anomaly classes": [2]})
    [preview] = [frame.value for frame in at.dataframe if "alcohol" in frame.value.columns]  # rows, not curves
    assert list(preview.columns) == ["samples", *wine.feature_names]
    assert set(preview["samples"]) == {"normal · 0", "normal · 1", "anomaly · 2"}
    data_config = workspace(at).config.data
    assert data_config.normal_classes == [0, 1]
    train(at, epochs=1)
    assert workspace(at).result.data.feature_names == tuple(wine.feature_names)
    go(at, "pages/threshold.py")
    go(at, "pages/flagged.py")
    figures = card_figures(at)
    assert figures
    [bars] = figures[0]["data"]
    assert bars["type"] == "bar" and list(array(bars["y"])) == list(wine.feature_names)
    assert "time step" not in json.dumps(figures[0]["layout"])


def test_a_series_is_drawn_over_the_band_of_typical_training_series():
    rng = np.random.default_rng(1)
    rows = np.sin(np.linspace(0, 6, 40))[None, :] + 0.05 * rng.standard_normal((150, 40))
    at = upload(start_app(), "waves.csv", "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows).encode())
    assert not at.error, at.error[0].value
    train(at, epochs=1)
    data = workspace(at).result.data
    assert not data.is_table
    go(at, "pages/flagged.py")
    assert at.segmented_control(key="flagged_show").options == [at.segmented_control(key="flagged_show").options[0]]
    assert any("need labels" in c.value for c in at.caption), "unlabeled data explains the missing lists"
    figure = card_figures(at)[0]
    low, high = (array(trace["y"]) for trace in figure["data"][:2])
    assert figure["data"][1]["name"] == "typical training sample (5–95 %)"
    np.testing.assert_allclose(low, np.percentile(data.x_train, 5, axis=0), rtol=1e-5)
    np.testing.assert_allclose(high, np.percentile(data.x_train, 95, axis=0), rtol=1e-5)
