"""Time series: windows and per-timestamp scores, event metrics, CSV and NAB loading, bad input, the NAB preset."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import ExperimentConfig, validate
from core.data import TIMESERIES, build_experiment_data, builtin_kind, load_dataset
from core.data.registry import _load_builtin
from core.errors import ConfigError, DataError
from core.events import event_metrics, flagged_events, runs
from core.timeseries import per_timestamp, sliding_windows, window_starts

REPO = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: list[str], header: str = "timestamp,value") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def hourly(n: int, start: str = "2024-01-01") -> list[str]:
    times = np.datetime64(start) + np.arange(n) * np.timedelta64(1, "h")
    return [str(t).replace("T", " ") for t in times]


def tiny_config(dataset: str, **data) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": {"dataset": dataset, **data},
            "model": {"kind": "conv1d", "filters": [8], "latent_dim": 4, "kernel_size": 3},
            "train": {"epochs": 1, "batch_size": 64, "validation_fraction": 0.0},
        }
    )


# ------------------------------------------------------------------------------------------ windows


def test_windows_cover_every_timestamp_and_end_on_the_last():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(11, 4, 3).tolist() == [0, 3, 6, 7]
    series = np.arange(11, dtype=np.float32)[:, None]
    windows = sliding_windows(series, 4, 3)
    assert windows.shape == (4, 4, 1)
    assert windows[-1, :, 0].tolist() == [7, 8, 9, 10]
    with pytest.raises(DataError, match=r"fewer than one window of 12; lower Window length \(data.window\)"):
        window_starts(11, 12, 1)


def test_per_timestamp_scores_are_the_mean_or_max_of_the_covering_windows():
    starts = window_starts(5, 3, 1)  # windows [0..2], [1..3], [2..4]
    errors = np.array([1.0, 2.0, 6.0])
    assert per_timestamp(errors, starts, 3, 5, "mean").tolist() == [1.0, 1.5, 3.0, 4.0, 6.0]
    assert per_timestamp(errors, starts, 3, 5, "max").tolist() == [1.0, 2.0, 6.0, 6.0, 6.0]


# ------------------------------------------------------------------------------------------ events


def test_runs_and_flagged_events_by_peak():
    assert runs(np.array([0, 1, 1, 0, 1, 0, 1, 1])) == [(1, 3), (4, 5), (6, 8)]
    scores = np.array([0.0, 2.0, 3.0, 0.0, 9.0, 0.0, 1.5, 1.2])
    found = flagged_events(scores, 1.0)
    assert [(e.start, e.stop, e.peak) for e in found] == [(4, 5, 4), (1, 3, 2), (6, 8, 6)]


def test_event_metrics_count_detections_false_alarms_and_delay():
    labels = np.array([0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    scores = np.array([0, 0, 0, 5, 5, 0, 0, 0, 0, 0, 5, 0], dtype=float)
    timestamps = np.datetime64("2024-01-01") + np.arange(12) * np.timedelta64(10, "m")
    counts = event_metrics(scores, labels, 1.0, timestamps)
    # window 1 (1..3) flagged at 3 (20 min late); window 2 (7..8) missed; the flag at 10 is a false alarm.
    assert counts == {"flagged": 2, "total": 2, "detected": 1, "false_alarms": 1, "mean_delay_s": 1200.0}
    assert event_metrics(scores, None, 1.0)["total"] is None


# ------------------------------------------------------------------------------------------ loading


def test_a_timestamped_csv_is_a_time_series_with_notices(tmp_path):
    rows = hourly(30)
    rows[5], rows[6] = rows[6], rows[5]  # out of order
    rows[20] = rows[19]  # duplicate
    lines = [f"{t},{i},{2 * i},{int(i == 12)}" for i, t in enumerate(rows)]
    del lines[25]  # a gap
    path = write_csv(tmp_path / "multi.csv", lines, header="time,a,b,label")
    dataset = load_dataset(str(path))
    assert dataset.kind == TIMESERIES and dataset.x_train.shape == (29, 2)
    assert dataset.channels == ("a", "b") and dataset.y_train.sum() == 1
    assert np.all(np.diff(dataset.timestamps) >= np.timedelta64(0))
    notices = " ".join(dataset.notices)
    assert "not in time order" in notices and "repeat an earlier one" in notices and "gaps" in notices


def test_nab_series_load_from_the_shared_folder_with_labelled_windows(shared_data_dir):
    assert builtin_kind("nab/nyc_taxi") == TIMESERIES and builtin_kind("nab/") is None
    dataset = load_dataset("nab/nyc_taxi", shared_data_dir)
    assert dataset.x_train.shape == (10320, 1)
    windows = json.loads((shared_data_dir / "nab" / "combined_windows.json").read_text())
    assert len(runs(dataset.y_train == 1)) == len(windows["realKnownCause/nyc_taxi.csv"]) == 5


def test_a_nab_series_offline_without_a_copy_says_where_to_put_it(tmp_path, monkeypatch):
    from core.data import builtin

    def offline(downloads):
        raise builtin.DownloadFailed("no network")

    monkeypatch.setattr(builtin, "_download", offline)
    _load_builtin.cache_clear()
    with pytest.raises(DataError, match=r"put nyc_taxi.csv, combined_windows.json in .*nab/"):
        load_dataset("nab/nyc_taxi", tmp_path)


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "is empty|has 0 rows"),
        (["2024-01-01 00:00:00,1"] * 3 + ["2024-01-01 03:00:00,x"] + ["2024-01-01 04:00:00,1"] * 8, "'x' in column"),
        (["2024-01-01 00:00:00,1", "yesterday-ish,2"] + ["2024-01-02 00:00:00,1"] * 9, "not a date and time"),
    ],
    ids=["empty", "non-numeric", "bad-timestamp"],
)
def test_bad_time_series_files_are_refused_in_one_sentence(tmp_path, rows, message):
    path = tmp_path / "bad.csv"
    path.write_text("" if not rows else "\n".join(["timestamp,value", *rows]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_dataset(str(path))


def test_series_shorter_than_a_window_and_window_beyond_the_training_span(tmp_path):
    path = write_csv(tmp_path / "short.csv", [f"{t},{i}" for i, t in enumerate(hourly(50))])
    with pytest.raises(DataError, match=r"50 timestamps, fewer than one window; lower Window length"):
        build_experiment_data(tiny_config(str(path), window=60).data, 0)
    with pytest.raises(DataError, match=r"training span .* shorter than one window of 20; raise Training span"):
        build_experiment_data(tiny_config(str(path), window=20).data, 0)  # 15 % of 50 = 8 timestamps
    with pytest.raises(ConfigError, match=r"^data.stride \(Window stride\) must be at most Window length"):
        validate(tiny_config(str(path), window=20, stride=30), TIMESERIES)


def test_the_cli_refuses_a_bad_time_series_with_exit_code_2(tmp_path):
    path = write_csv(tmp_path / "short.csv", [f"{t},{i}" for i, t in enumerate(hourly(50))])
    config = tiny_config(str(path), window=60)
    config.save(tmp_path / "config.json")
    done = subprocess.run(
        [sys.executable, "-m", "core", "run", str(tmp_path / "config.json"), "--out", str(tmp_path / "run")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "fewer than one window" in done.stderr


# ------------------------------------------------------------------------------------------ end to end


def test_a_multichannel_csv_trains_and_scores_every_timestamp(tmp_path):
    from core.experiment import run_experiment

    rng = np.random.default_rng(0)
    n = 200
    a, b = np.sin(np.arange(n) / 5), np.cos(np.arange(n) / 5) + rng.normal(0, 0.01, n)
    a[150] = 5
    lines = [f"{t},{x:.4f},{y:.4f},{int(i == 150)}" for i, (t, x, y) in enumerate(zip(hourly(n), a, b, strict=True))]
    path = write_csv(tmp_path / "two.csv", lines, header="timestamp,a,b,label")
    result = run_experiment(tiny_config(str(path), window=16, stride=2, train_span=0.5))
    assert result.data.sample_shape == (16, 2)
    assert result.scores.shape == (n,) and result.train_scores.shape == (100,)
    assert result.metrics["events"]["total"] == 1
    for baseline in result.baselines.results.values():  # on the same windows, spread onto the timestamps
        assert baseline.scores.shape == (n,) and baseline.auroc is not None, baseline.note
    assert result.baselines.results["pca"].scores.argmax() in range(150 - 15, 151)


@pytest.mark.slow
def test_the_art_daily_preset_finds_the_jump_without_false_alarms(shared_data_dir, tmp_path):
    """The Keras example's setting: trained on art_daily_small_noise, the jump in art_daily_jumpsup is found."""
    from core.experiment import run_experiment
    from core.runs import load_run, save_run

    config = ExperimentConfig.load(REPO / "presets" / "nab_art_daily.json")
    config = config.replace(train=config.train.__class__(**{**config.train.__dict__, "epochs": 5}))
    result = run_experiment(config, str(shared_data_dir))
    events = result.metrics["events"]
    assert events["total"] == 1 and events["detected"] == 1 and events["false_alarms"] == 0
    assert result.metrics["auroc"] > 0.9
    folder = save_run(result, tmp_path / "run")
    assert json.loads((folder / "metrics.json").read_text())["events"] == events
    reopened = load_run(folder, str(shared_data_dir))
    assert np.allclose(reopened.detector.score_samples(reopened.data.x_score), result.scores, atol=1e-5)
