"""What the screen shows, checked without a browser: the timeline's spans where Plotly places them, one wording of
times and durations for the pages and the report, readable run names, and where a demo's data comes from."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import section
from test_timeseries import hourly, tiny_config, write_csv

from core import events, run_titles, timeline_figures
from core.config import ExperimentConfig, ThresholdConfig
from core.data import availability, load_dataset
from core.data import builtin as builtin_data
from core.data.registry import _load_builtin
from core.errors import DataError, RunError
from core.experiment import run_experiment
from core.report import html_report
from core.runs import list_runs, save_run, update_run_threshold
from core.thresholds import choose_threshold
from core.timeformat import count, duration, plot_times, timestamp

REPO = Path(__file__).resolve().parents[1]


def on_date_axis(value) -> pd.Timestamp:
    """Where a Plotly date axis places `value` as it arrives in the browser: a number is milliseconds since 1970."""
    if isinstance(value, int | float):
        return pd.Timestamp(int(value), unit="ms") if abs(value) < 1e14 else pd.Timestamp.max
    return pd.Timestamp(value)


def sent(figure) -> dict:
    """The figure as the browser receives it."""
    return json.loads(figure.to_json())


def assert_spans_inside_the_series(figure) -> list[dict]:
    """Every rect lies within the time range of the traces (the axis' autorange); returns the rects."""
    spec = sent(figure)
    times = [on_date_axis(x) for trace in spec["data"] for x in trace["x"]]
    low, high = min(times), max(times)
    rects = [shape for shape in spec["layout"]["shapes"] if shape["type"] == "rect"]
    for shape in rects:
        for key in ("x0", "x1"):
            assert low <= on_date_axis(shape[key]) <= high, f"{shape['name']} {key}={shape[key]} is off the axis"
    return rects


# ------------------------------------------------------------------------------------------ the timeline (item 1)


def test_timeline_spans_lie_on_the_date_axis_and_labelled_and_flagged_keep_their_own_panel():
    # datetime64[ns], as every loaded series has: its scalars reach Plotly as integers unless converted.
    timestamps = (np.datetime64("2014-04-01") + np.arange(500) * np.timedelta64(5, "m")).astype("datetime64[ns]")
    values, scores = np.sin(np.arange(500) / 9), np.linspace(0, 1, 500)
    figure = timeline_figures.timeline(
        timestamps, values, scores, 0.8, labelled=[(380, 460)], flagged=[(400, 420), (499, 500)]
    )
    rects = assert_spans_inside_the_series(figure)
    by_name = {name: [r for r in rects if r["name"] == name] for name in ("labelled window", "flagged")}
    assert len(by_name["labelled window"]) == 1 and len(by_name["flagged"]) == 2
    # A flagged event inside a labelled window: each on its own panel, so the two never blend into one colour.
    panels = {name: {r["yref"] for r in shapes} for name, shapes in by_name.items()}
    assert panels == {"labelled window": {"y domain"}, "flagged": {"y2 domain"}}
    layout = sent(figure)["layout"]
    top, bottom = layout["yaxis"]["domain"], layout["yaxis2"]["domain"]
    assert bottom[1] < top[0], "the series and score panels must not overlap"
    # A one-timestamp event has no width: its opaque edge is what shows it.
    assert all(r["line"]["width"] >= 1 and "rgba" not in r["line"]["color"] for r in rects)


def test_the_flagged_window_and_the_report_timeline_place_their_spans_on_the_axis(tmp_path):
    config = tiny_config(str(series_csv(tmp_path)), window=16, stride=2, train_span=0.5)
    result = run_experiment(config.replace(threshold=ThresholdConfig(method="quantile", q=0.95)))
    threshold = result.threshold.value
    assert_spans_inside_the_series(timeline_figures.result_timeline(result, threshold))
    event = events.flagged_events(result.scores, threshold)[0]
    start, reconstruction = result.detector.worst_window(result.data.x_score, event.peak)
    stop = start + len(reconstruction)
    window = timeline_figures.window_overlay(
        result.data.timestamps[start:stop],
        result.data.x_score[start:stop],
        reconstruction,
        (max(event.start, start) - start, min(event.stop, stop) - start),
    )
    assert len(assert_spans_inside_the_series(window)) == 1
    page = html_report(result)
    # The report's figures carry dates as strings: never the nanosecond integers a date axis misplaces.
    assert not [x for x in re.findall(r'"x[01]":\s*(-?[\d.e+]+)', page) if abs(float(x)) > 1e14]


def series_csv(tmp_path: Path) -> Path:
    n = 240
    values = np.sin(np.arange(n) / 5)
    values[180:184] += 4
    rows = [f"{t},{v:.4f},{int(178 <= i < 190)}" for i, (t, v) in enumerate(zip(hourly(n), values, strict=True))]
    return write_csv(tmp_path / "series.csv", rows, header="timestamp,value,label")


# ------------------------------------------------------------------------------------------ formats (item 4)


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 s"),
        (0.25, "0.25 s"),
        (1, "1 s"),
        (59.6, "1 min"),
        (330, "5 min 30 s"),
        (3599.7, "1 h"),
        (86_400, "1 day"),
        (2 * 86_400 + 8 * 3600 + 55 * 60, "2 days 9 h"),
        (-90, "−1 min 30 s"),
    ],
)
def test_durations_read_in_their_two_largest_units(seconds, words):
    assert duration(seconds) == words
    assert duration(pd.Timedelta(seconds=seconds)) == words
    assert duration(np.timedelta64(int(seconds * 1000), "ms")) == words


def test_timestamps_and_counts_read_as_people_write_them():
    assert timestamp(np.datetime64("2014-04-10T21:35:00.000000000")) == "2014-04-10 21:35"
    assert timestamp(np.datetime64("2014-04-10T21:35:07")) == "2014-04-10 21:35:07"
    assert timestamp(np.datetime64("2014-04-10T21:35:07.250")) == "2014-04-10 21:35:07.25"
    assert list(plot_times(np.array(["2014-04-10T21:35"], dtype="datetime64[ns]"))) == ["2014-04-10 21:35:00.000000"]
    assert (count(1, "run"), count(2, "run"), count(1204, "flagged event")) == (
        "1 run",
        "2 runs",
        "1,204 flagged events",
    )


def test_the_events_table_and_the_report_word_times_alike(tmp_path):
    config = tiny_config(str(series_csv(tmp_path)), window=16, stride=2, train_span=0.5)
    result = run_experiment(config.replace(threshold=ThresholdConfig(method="quantile", q=0.9)))
    found = events.flagged_events(result.scores, result.threshold.value)
    table = events.event_table(found, result.data.timestamps, result.data.labels)
    first = found[0]
    assert table["start"][0] == timestamp(result.data.timestamps[first.start])
    assert table["duration"][0] == duration(
        result.data.timestamps[first.stop - 1] - result.data.timestamps[first.start]
    )
    page = section(html_report(result), "flagged")
    assert f"<td>{table['duration'][0]}</td>" in page.replace(' class=""', "")
    assert "T00:00" not in page and "0 days" not in page and ".000000000" not in page
    metrics = section(html_report(result), "metrics")
    assert "0 days" not in metrics and "Mean delay" in metrics


# ------------------------------------------------------------------------------------------ run names (item 7)


@pytest.fixture(scope="module")
def digits_result():
    config = ExperimentConfig.load(REPO / "presets" / "digits_quick.json")
    return run_experiment(
        config.replace(
            data=dataclasses.replace(config.data, limit=150),
            model=dataclasses.replace(config.model, kind="dense", hidden=[8], latent_dim=2),
            train=dataclasses.replace(config.train, epochs=1, batch_size=64),
        )
    )


def test_runs_get_readable_names_and_keep_a_new_one_through_a_threshold_update(digits_result):
    first, second = save_run(digits_result), save_run(digits_result)
    names = run_titles.titles(list_runs())
    assert names[str(first)].startswith("Digits (8×8, offline) · dense · 20")
    assert names[str(first)] != names[str(second)], "two runs saved in the same minute must read apart"
    assert run_titles.rename_run(first, "  Baseline, 1 epoch  ") == "Baseline, 1 epoch"
    choice = choose_threshold(ThresholdConfig(method="quantile", q=0.5), digits_result.scores)
    update_run_threshold(first, choice)
    assert run_titles.folder_title(first) == "Baseline, 1 epoch"
    assert first.is_dir() and first.name in {Path(p).name for p in run_titles.titles(list_runs())}
    assert run_titles.rename_run(first, "") == run_titles.default_title("digits", "dense", runs_created(first))
    with pytest.raises(RunError, match="at most 80"):
        run_titles.rename_run(first, "x" * 81)
    with pytest.raises(RunError, match="one line"):
        run_titles.rename_run(first, "a\nb")


def runs_created(folder: Path) -> str:
    return json.loads((folder / "run.json").read_text())["created"]


# ------------------------------------------------------------------------------------------ offline (item 5)


def test_a_demo_says_whether_its_data_is_here_downloadable_or_needs_a_folder(tmp_path):
    assert availability("digits") == "here"
    assert availability("ecg5000", tmp_path) == "download"
    assert availability("nab/not_a_known_series", tmp_path) == "folder"
    (tmp_path / "ecg5000").mkdir()
    (tmp_path / "ecg5000" / "ecg.csv").write_text("1,2\n")
    assert availability("ecg5000", tmp_path) == "here"
    assert availability("/some/user/file.npz") is None


def test_offline_the_error_names_the_files_the_folder_and_the_data_folder_field(tmp_path, monkeypatch):
    def offline(downloads):
        raise builtin_data.DownloadFailed("no network")

    monkeypatch.setattr(builtin_data, "_download", offline)
    _load_builtin.cache_clear()
    monkeypatch.delenv("ANOMALY_STUDIO_DATA", raising=False)
    with pytest.raises(DataError) as raised:
        load_dataset("ecg5000")
    message = str(raised.value)
    assert "ECG5000 heartbeats" in message and "no network" in message
    assert "put ecg.csv in <data folder>/ecg5000/" in message
    assert "Data folder field on the Dataset page" in message and "--data-dir" in message
    _load_builtin.cache_clear()
