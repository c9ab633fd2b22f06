"""The time-series flow under Streamlit's AppTest: the NAB art_daily demo, its timeline, events and threshold."""

import numpy as np
import pytest
from test_pages import go, metric, navigation_runs_app_py, start_app, train, workspace  # noqa: F401 (autouse fixture)


def charts_with(at, text: str) -> list:
    return [chart for chart in at.get("plotly_chart") if text in chart.proto.spec]


@pytest.mark.slow
def test_the_art_daily_demo_draws_a_timeline_whose_events_follow_the_threshold(shared_data_dir):
    at = start_app(data_dir=shared_data_dir)
    [card] = [b for b in at.button if b.key == "preset:nab_art_daily"]
    card.click().run()
    assert at.title[0].value == "Train"

    go(at, "pages/dataset.py")
    assert not at.error, at.error[0].value
    assert charts_with(at, "labelled anomaly windows"), "the series preview is missing"

    train(at, epochs=1)
    go(at, "pages/threshold.py")
    assert not at.error, at.error[0].value
    [timeline] = charts_with(at, "flagged events")
    assert "anomaly score" in timeline.proto.spec
    at_threshold = int(metric(at, "Flagged events"))
    scores = workspace(at).result.scores
    at.slider(key="threshold:value").set_value(float(np.quantile(scores, 0.3))).run()
    assert not at.exception, at.exception[0].message
    assert int(metric(at, "Flagged events")) != at_threshold
    assert charts_with(at, "flagged events")

    go(at, "pages/flagged.py")
    assert at.title[0].value == "Flagged events"
    assert at.dataframe and charts_with(at, "reconstruction")
