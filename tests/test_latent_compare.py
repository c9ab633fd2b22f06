"""The latent map's codes and projections (core.latent) and comparing saved runs (core.compare), on digits."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core import compare, latent, runs
from core.config import ExperimentConfig
from core.detector import AutoencoderDetector
from core.errors import RunError
from core.experiment import run_experiment
from core.metrics import evaluate

PRESETS = Path(__file__).resolve().parents[1] / "presets"


def tiny_digits(learning_rate: float = 0.002, latent_dim: int = 4) -> ExperimentConfig:
    config = ExperimentConfig.load(PRESETS / "digits_quick.json")
    return config.replace(
        data=dataclasses.replace(config.data, limit=300),
        model=dataclasses.replace(config.model, kind="dense", hidden=[32], latent_dim=latent_dim),
        train=dataclasses.replace(config.train, epochs=2, batch_size=32, learning_rate=learning_rate),
        score=dataclasses.replace(config.score, baselines=[]),
    )


@pytest.fixture(scope="module")
def result():
    return run_experiment(tiny_digits())


@pytest.fixture(scope="module")
def codes(result):
    return latent.latent_codes(result.detector, result.data.x_score, result.scores, result.data.labels)


# ------------------------------------------------------------------------------------------ codes


def test_encode_gives_one_code_per_sample_from_raw_images_and_flat_rows(result):
    x = result.data.x_score
    codes = result.detector.encode(x)
    assert codes.shape == (len(x), 4)
    assert np.isfinite(codes).all() and codes.std(axis=0).max() > 0
    np.testing.assert_allclose(result.detector.encode(x.reshape(len(x), -1)), codes, rtol=1e-5, atol=1e-6)


def test_a_time_series_gives_one_code_per_window_scored_by_its_worst_timestamp():
    from core.config import ModelConfig, TrainConfig

    steps = np.arange(600, dtype=np.float32)
    series = (np.sin(steps / 8) * 5 + 20)[:, None]
    detector = AutoencoderDetector(
        ModelConfig(latent_dim=3, hidden=[16]), TrainConfig(epochs=1), kind="timeseries", window=24, stride=4
    ).fit(series)
    series[300:310] += 30  # a spike
    scores = detector.score_samples(series)
    labels = np.zeros(len(series), np.int8)
    labels[300:310] = 1
    codes = latent.latent_codes(detector, series, scores, labels)
    starts = np.arange(0, 600 - 24 + 1, 4)
    assert codes.codes.shape == (len(starts), 3)
    np.testing.assert_array_equal(codes.window_starts, starts)
    np.testing.assert_allclose(codes.scores, [scores[s : s + 24].max() for s in starts])
    np.testing.assert_array_equal(codes.labels, [(s + 24 > 300) and (s < 310) for s in starts])


# ------------------------------------------------------------------------------------------ projections


def test_pca_places_every_point_the_same_way_each_time(codes):
    first = latent.project(codes.codes, "pca", seed=1)
    again = latent.project(codes.codes, "pca", seed=1)
    assert first.points.shape == (len(codes), 2)
    np.testing.assert_array_equal(first.indices, np.arange(len(codes)))
    np.testing.assert_allclose(first.points, again.points)
    assert "PCA of the 4-number codes: all" in first.description


def test_tsne_places_a_seeded_subsample_of_at_most_the_cap(codes):
    first = latent.project(codes.codes, "tsne", seed=3, cap=80)
    again = latent.project(codes.codes, "tsne", seed=3, cap=80)
    other = latent.project(codes.codes, "tsne", seed=4, cap=80)
    assert first.points.shape == (80, 2) and len(first.indices) == 80
    assert np.all(np.diff(first.indices) > 0) and first.indices.max() < len(codes)
    np.testing.assert_array_equal(first.indices, again.indices)
    np.testing.assert_allclose(first.points, again.points)
    assert not np.array_equal(first.indices, other.indices)
    assert f"80 of the {len(codes):,} points, drawn with seed 3" in first.description
    assert "capped at 80 points" in first.description
    assert latent.CAPS["tsne"] == 3000 and latent.CAPS["umap"] == 10_000


@pytest.mark.slow  # UMAP compiles its numba code on first use: about 10 s
def test_umap_is_seeded_and_capped(codes):
    first = latent.project(codes.codes, "umap", seed=5, cap=150)
    again = latent.project(codes.codes, "umap", seed=5, cap=150)
    assert first.points.shape == (150, 2)
    np.testing.assert_allclose(first.points, again.points)


def test_codes_of_two_numbers_are_drawn_as_they_are_and_of_one_against_the_score():
    two = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    shown = latent.project(two, "tsne", seed=0)
    np.testing.assert_array_equal(shown.points, two)
    assert "no projection" in shown.description
    scores = np.linspace(0, 1, 50)
    one = latent.project(two[:, :1], "pca", seed=0, scores=scores)
    np.testing.assert_array_equal(one.points, np.c_[two[:, 0], scores])
    assert one.axes == ("code", "score")
    with pytest.raises(ValueError, match="scores"):
        latent.project(two[:, :1], "pca")


def test_outcomes_agree_with_the_confusion_matrix(result):
    threshold = float(np.quantile(result.scores, 0.8))
    found = latent.outcomes(result.scores, result.data.labels, threshold)
    [[tn, fp], [fn, tp]] = evaluate(result.scores, result.data.labels, threshold)["confusion_matrix"]
    counts = {name: int((found == name).sum()) for name in latent.OUTCOMES}
    assert counts == {"true alarm": tp, "false alarm": fp, "missed anomaly": fn, "normal": tn}
    unlabeled = latent.outcomes(result.scores, None, threshold)
    assert set(unlabeled) == {"flagged", "not flagged"}
    assert (unlabeled == "flagged").sum() == tp + fp


def test_the_latent_map_carries_each_points_position_for_the_selection(codes):
    from core.latent_figures import latent_map

    projection = latent.project(codes.codes, "tsne", seed=0, cap=60)
    categories = latent.outcomes(codes.scores, codes.labels, float(np.median(codes.scores)))
    figure = latent_map(projection, codes.scores, categories, latent.OUTCOMES)
    assert figure.layout.dragmode == "select"
    carried = np.concatenate([trace.customdata for trace in figure.data])
    assert sorted(carried) == sorted(projection.indices)
    by_score = latent_map(projection, codes.scores)
    assert len(by_score.data) == 1 and by_score.data[0].marker.colorscale


# ------------------------------------------------------------------------------------------ compare runs


def test_config_differences_lists_exactly_the_fields_that_differ():
    base = tiny_digits()
    other = base.replace(
        train=dataclasses.replace(base.train, learning_rate=0.01), model=dataclasses.replace(base.model, hidden=[64])
    )
    third = base.replace(seed=7)
    table = compare.config_differences({"a": base, "b": other, "c": third})
    assert list(table["field"]) == ["seed", "model.hidden", "train.learning_rate"]
    assert list(table.columns) == ["setting", "field", "a", "b", "c"]
    row = table.set_index("field").loc["train.learning_rate"]
    assert (row["setting"], row["a"], row["b"], row["c"]) == ("Learning rate", "0.002", "0.01", "0.002")
    assert compare.config_differences({"a": base, "b": base}).empty


def test_two_saved_digits_runs_compare(result):
    slower = run_experiment(tiny_digits(learning_rate=0.0005))
    folders = [runs.save_run(result), runs.save_run(slower)]
    compared = compare.load_runs(folders)
    names = [folder.name for folder in folders]
    assert list(compared) == names

    table = compare.metrics_table(compared)
    assert list(table["run"]) == names
    assert table["AUROC"].tolist() == pytest.approx([result.metrics["auroc"], slower.metrics["auroc"]])
    assert table["epochs"].tolist() == [2, 2]

    differences = compare.config_differences({name: run.config for name, run in compared.items()})
    assert list(differences["field"]) == ["train.learning_rate"]

    roc, pr = compare.curves(compared)
    assert list(roc) == names and list(pr) == names
    fpr, tpr = roc[names[0]]
    assert fpr[0] == 0 and tpr[-1] == 1
    assert compared[names[1]].history.loss == pytest.approx(slower.history.loss)

    with pytest.raises(RunError, match="compare 2 to 5 runs"):
        compare.load_runs(folders[:1])


def test_the_compare_command_prints_metrics_and_differences_or_one_line_on_bad_input(result, capsys, tmp_path):
    from core.__main__ import main

    other = result.with_threshold(
        dataclasses.replace(result.threshold, value=result.threshold.value * 2, method="value")
    )
    folders = [str(runs.save_run(result)), str(runs.save_run(other))]
    assert main(["compare", *folders]) == 0
    printed = capsys.readouterr().out
    assert "AUROC" in printed and all(Path(folder).name in printed for folder in folders)
    assert "settings that differ:" in printed and "threshold.value" in printed

    assert main(["compare", folders[0], str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(tmp_path) in error and len(error.strip().splitlines()) == 1
