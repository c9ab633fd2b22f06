"""The Threshold page beside the classical baselines (AppTest): their table, their ROC curves, and the page
staying usable while they compute."""

import json
import time

from tests.test_pages import button, go, navigation_runs_app_py, start_app, train, workspace  # noqa: F401


def wait_for_baselines(at, timeout: float = 120) -> None:
    """Rerun the page, as its polling fragment does, until the background baselines are done."""
    deadline = time.monotonic() + timeout
    while not workspace(at).result.baselines.done:
        assert time.monotonic() < deadline, "the baselines did not finish in time"
        time.sleep(0.5)
    at.run()
    assert not at.exception, at.exception[0].message


def roc_traces(at) -> list[str]:
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        if figure["layout"].get("title", {}).get("text", "").startswith("ROC curve"):
            return [trace.get("name") for trace in figure["data"]]
    raise AssertionError("no ROC chart on the page")


def test_threshold_page_shows_the_baselines_beside_the_autoencoder():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=1)
    go(at, "pages/threshold.py")
    if not workspace(at).result.baselines.done:
        assert any("computing" in info.value for info in at.info)
    wait_for_baselines(at)

    [table] = [frame.value for frame in at.dataframe if "detector" in frame.value.columns]
    assert list(table["detector"]) == [
        "autoencoder",
        "PCA reconstruction",
        "Isolation Forest",
        "kNN distance (k = 5)",
        "ECOD",
    ]
    assert {"AUROC", "AP", "seconds"} <= set(table.columns)
    names = roc_traces(at)
    assert "autoencoder" in names
    for label in table["detector"][1:]:
        assert label in names, f"no ROC trace for {label}"

    result = workspace(at).result
    ours = result.metrics["auroc"]
    beaten = [r for r in result.baselines.results.values() if r.auroc > ours + 0.005]
    sentences = [w.value for w in at.warning if "beat" in w.value]
    assert bool(sentences) == bool(beaten), (sentences, ours)

    at.number_input(key="threshold:typed").set_value(float(result.scores.max()) * 0.5).run()
    assert not at.exception
    button(at, "Save run").click().run()
    assert not at.error, at.error[0].value


def test_without_labels_the_table_shows_how_far_the_detectors_agree():
    from types import SimpleNamespace

    import numpy as np

    from core.baselines import BaselineResult, BaselineRun
    from ui.baselines import BaselineView, table

    scores = np.array([0.1, 0.9, 0.5, 0.7])
    same, reverse = (
        BaselineResult("pca", scores * 2, None, None, 0.5, ""),
        BaselineResult("knn", -scores, None, None, 0.1, ""),
    )
    result = SimpleNamespace(
        scores=scores,
        metrics={"auroc": None, "train_seconds": 1.0, "score_seconds": 0.1},
        baselines=BaselineRun.finished({"pca": same, "knn": reverse}),
    )
    by_error = np.argsort(-scores)
    shown = BaselineView(
        result, result.baselines.results, {}, {"pca": by_error, "knn": by_error[::-1]}, {"pca": 1.0, "knn": -1.0}
    )
    rows = table(result, shown, by_error, 2).set_index("detector")
    assert list(rows["top 2 overlap"]) == ["–", "100%", "0%"]
    assert list(rows["rank correlation"]) == ["–", "1.00", "-1.00"]
