"""The time-series flow under Streamlit's AppTest: the NAB art_daily demo, its timeline, events and threshold."""

import numpy as np
import pytest
from test_pages import (  # noqa: F401 (navigation_runs_app_py: an autouse fixture)
    button,
    go,
    labelled,
    metric,
    navigation_runs_app_py,
    start_app,
    train,
    upload,
    workspace,
)

from core.fields import FIELDS


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
    at.number_input(key="threshold:typed").set_value(float(np.quantile(scores, 0.3))).run()
    assert not at.exception, at.exception[0].message
    assert int(metric(at, "Flagged events")) != at_threshold
    assert charts_with(at, "flagged events")

    go(at, "pages/flagged.py")
    assert at.title[0].value == "Flagged events"
    assert at.dataframe and charts_with(at, "reconstruction")


def test_an_uploaded_time_series_shows_its_notices_timeline_and_a_too_long_window():
    times = np.datetime64("2024-01-01") + np.arange(300) * np.timedelta64(1, "h")
    rows = [f"{str(t).replace('T', ' ')},{np.sin(i / 8):.4f},{int(200 <= i < 210)}" for i, t in enumerate(times)]
    rows[10], rows[11] = rows[11], rows[10]
    at = upload(start_app(), "sensor.csv", ("timestamp,value,label\n" + "\n".join(rows) + "\n").encode())
    assert any("not in time order" in warning.value for warning in at.warning)
    assert "shorter than one window of 288" in at.error[0].value  # 15 % of 300 timestamps: the default is too long
    assert workspace(at).config.model.kind in FIELDS["model.kind"].choices_for("timeseries")

    labelled(at.number_input, "Window length").set_value(24)
    button(at, "Apply").click().run()
    assert not at.error, at.error[0].value
    assert charts_with(at, "labelled anomaly windows")

    labelled(at.number_input, "Window length").set_value(400)
    button(at, "Apply").click().run()
    assert not at.exception, at.exception[0].message
    assert "fewer than one window" in at.error[0].value
