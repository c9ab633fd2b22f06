"""The Latent map and Compare runs pages under AppTest: the map drawn from codes encoded once per model, what a
selection shows, and two saved runs compared."""

import base64
import json

import numpy as np
import pytest

from core import latent, run_titles, runs
from core.experiment import run_experiment
from core.thresholds import ThresholdChoice
from tests.test_latent_compare import tiny_digits
from tests.test_pages import go, labelled, navigation_runs_app_py, start_app, workspace  # noqa: F401
from ui.state import COMPARE_PAGE, LATENT_PAGE


@pytest.fixture(scope="module")
def result():
    return run_experiment(tiny_digits())


def opened(result):
    """A session inspecting `result`, as after training it."""
    at = start_app()
    ws = workspace(at)
    ws.result = result
    return at


def latent_figure(at) -> dict:
    [chart] = [c for c in at.get("plotly_chart") if json.loads(c.proto.spec)["layout"].get("dragmode") == "select"]
    return json.loads(chart.proto.spec)


def points(trace: dict) -> int:
    """How many points a trace of a chart's JSON holds (Plotly sends numpy arrays base64-encoded)."""
    x = trace["x"]
    return len(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"])) if isinstance(x, dict) else len(x)


def test_the_latent_map_encodes_once_per_model_and_projects_once_per_method(result, monkeypatch):
    encoded, projected = [], []
    real_encode, real_project = result.detector.encode, latent.project
    monkeypatch.setattr(result.detector, "encode", lambda x: encoded.append(len(x)) or real_encode(x))
    monkeypatch.setattr(latent, "project", lambda *a, **k: projected.append(a[1]) or real_project(*a, **k))

    at = go(opened(result), LATENT_PAGE)
    assert not at.error
    figure = latent_figure(at)
    assert sum(points(trace) for trace in figure["data"]) == len(result.scores)
    assert figure["data"][0]["marker"]["colorscale"]  # coloured by score
    assert any("PCA of the 4-number codes" in caption.value for caption in at.caption)
    assert encoded == [len(result.scores)] and projected == ["pca"]

    labelled(at.radio, "Colour by").set_value("outcome").run()
    names = {trace["name"]: points(trace) for trace in latent_figure(at)["data"]}
    flagged = int((result.scores > result.threshold.value).sum())
    assert names.get("true alarm", 0) + names.get("false alarm", 0) == flagged

    ws = workspace(at)
    lower = float(np.quantile(result.scores, 0.5))
    ws.result = ws.result.with_threshold(ThresholdChoice(lower, "value", "set by the test"))
    at.run()
    names = {trace["name"]: points(trace) for trace in latent_figure(at)["data"]}
    assert names.get("true alarm", 0) + names.get("false alarm", 0) == int((result.scores > lower).sum())

    labelled(at.radio, "Colour by").set_value("class").run()
    assert {trace["name"] for trace in latent_figure(at)["data"]} == {str(c) for c in range(10)}

    labelled(at.radio, "Projection").set_value("tsne").run()
    assert points(latent_figure(at)["data"][0]) > 0
    labelled(at.radio, "Projection").set_value("pca").run()
    assert not at.exception
    assert encoded == [len(result.scores)], "a rerun must not encode again"
    assert projected == ["pca", "tsne"], "each projection once per model"


def test_a_selection_gives_the_points_positions_and_shows_those_samples(result):
    from ui.latent import selected_points

    selection = {
        "points": [
            {"curve_number": 0, "point_index": 3, "x": 0.1, "y": 0.2, "customdata": 17},
            {"curve_number": 1, "point_index": 0, "x": 0.3, "y": 0.1, "customdata": 4},
            {"curve_number": 1, "point_index": 1, "x": 0.3, "y": 0.1, "customdata": 17},
        ],
        "box": [],
        "lasso": [],
    }
    np.testing.assert_array_equal(selected_points(selection), [4, 17])
    assert len(selected_points({"points": []})) == 0
    assert len(selected_points(None)) == 0

    at = go(opened(result), LATENT_PAGE)
    assert any("Select points" in info.value for info in at.info)
    # AppTest cannot drag on a chart; it takes the chart's selection state through session_state instead (the
    # browser test drags a box for real).
    chosen = np.arange(0, 280, 20)  # 14 points
    at.session_state["latent_map_chart"] = {
        "selection": {"points": [{"customdata": int(i)} for i in chosen], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception
    assert [header.value for header in at.subheader] == ["14 samples selected"]
    assert any("The 12 with the highest scores are shown." in caption.value for caption in at.caption)
    worst = chosen[np.argsort(-result.scores[chosen], kind="stable")][:12]
    titles = [text.value for text in at.markdown if text.value.startswith("**#")]
    shown = [int(title.split("· sample ")[1].split("**")[0]) for title in titles]
    assert shown == list(result.data.indices[worst])


def test_without_a_model_the_latent_map_points_to_training():
    at = go(start_app(), LATENT_PAGE)
    assert any("Nothing trained yet" in info.value for info in at.info)


def test_compare_runs_shows_metrics_differing_settings_and_curves(result, tmp_path):
    at = go(start_app(), COMPARE_PAGE)
    assert any("at least 2 saved runs" in info.value for info in at.info)

    first = runs.save_run(result)
    second = runs.save_run(run_experiment(tiny_digits(learning_rate=0.0005)))
    damaged = runs.runs_root() / "damaged-run"
    damaged.mkdir()
    (damaged / "config.json").write_text("{", encoding="utf-8")
    at.run()
    names = run_titles.titles(runs.list_runs())  # readable names, told apart by their folder's id
    first_name, second_name = names[str(first)], names[str(second)]
    picker = labelled(at.multiselect, "Runs")
    assert sorted(option.split(" · AUROC")[0] for option in picker.options) == sorted([first_name, second_name])
    assert any(expander.label == "1 damaged run cannot be compared" for expander in at.expander)
    assert any("damaged-run" in text.value for text in at.markdown)
    picker.set_value([first_name]).run()
    assert any("Choose at least 2 runs" in info.value for info in at.info)

    labelled(at.multiselect, "Runs").set_value([first_name, second_name]).run()
    assert not at.exception and not at.error
    metrics = next(frame.value for frame in at.dataframe if "AUROC" in frame.value.columns)
    assert list(metrics["run"]) == [first_name, second_name]
    differences = next(frame.value for frame in at.dataframe if "field" in frame.value.columns)
    assert list(differences["field"]) == ["train.learning_rate"]
    assert list(differences.iloc[0][[first_name, second_name]]) == ["0.002", "0.0005"]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles == ["Loss", "ROC curves", "Precision–recall curves"]
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace["name"] for trace in loss["data"]} == {
        f"{name} · {part}" for name in (first_name, second_name) for part in ("train", "validation")
    }


def test_a_time_series_map_has_a_point_per_window_and_shows_selected_windows(tmp_path):
    from core.config import DataConfig, ExperimentConfig, ModelConfig, ScoreConfig, TrainConfig

    times = np.datetime64("2024-01-01") + np.arange(400) * np.timedelta64(1, "h")
    values = np.sin(np.arange(400) / 6)
    values[250:256] += 3
    rows = [
        f"{str(t).replace('T', ' ')},{v:.4f},{int(250 <= i < 256)}"
        for i, (t, v) in enumerate(zip(times, values, strict=True))
    ]
    series = tmp_path / "sensor.csv"
    series.write_text("timestamp,value,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    config = ExperimentConfig(
        data=DataConfig(dataset=str(series), window=24, stride=4, protocol="transductive"),
        model=ModelConfig(latent_dim=3, hidden=[16]),
        train=TrainConfig(epochs=1),
        score=ScoreConfig(baselines=[]),
    )
    series_result = run_experiment(config)
    n_windows = len(np.arange(0, 400 - 24 + 1, 4))

    at = go(opened(series_result), LATENT_PAGE)
    assert not at.error
    assert sum(points(trace) for trace in latent_figure(at)["data"]) == n_windows
    assert [radio.options for radio in at.radio if radio.label == "Colour by"] == [["Score", "Flagged vs truth"]]
    at.session_state["latent_map_chart"] = {
        "selection": {"points": [{"customdata": i} for i in (10, 62)], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception
    assert [header.value for header in at.subheader] == ["2 windows selected"]
    assert sum(text.value.startswith("**Window from ") for text in at.markdown) == 2
