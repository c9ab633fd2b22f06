"""The one-click report (core.report): its sections and figures for images, labelled and unlabelled time series,
the threshold it describes, no address outside the file; the CLI's `report` command; the dashboard's button.

That the file opens and draws every figure with the network blocked: tests/test_browser_report.py.
"""

import dataclasses
import html
import re
from pathlib import Path

import numpy as np
import pytest
from plotly.offline import get_plotlyjs
from test_experiment_cli import cli
from test_pages import go, navigation_runs_app_py, start_app, train  # noqa: F401 (an autouse fixture)
from test_timeseries import hourly, tiny_config, write_csv

from core.baselines import beats_sentence
from core.config import ExperimentConfig, ThresholdConfig
from core.errors import StudioError
from core.experiment import run_experiment
from core.report import TOP_FLAGGED, html_report, write_report
from core.run_titles import folder_title
from core.runs import save_run
from core.thresholds import choose_threshold

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("dataset", "settings", "loss", "threshold", "metrics", "curves", "baselines", "flagged")


@pytest.fixture(scope="module")
def digits_result():
    config = ExperimentConfig.load(REPO / "presets" / "digits_quick.json")
    config = config.replace(
        data=dataclasses.replace(config.data, limit=200),
        model=dataclasses.replace(config.model, kind="dense", hidden=[16], latent_dim=4),
        train=dataclasses.replace(config.train, epochs=2, batch_size=32),
        threshold=ThresholdConfig(method="contamination", rate=0.1),
    )
    return run_experiment(config)


def figure_count(page: str) -> int:
    return page.count('class="plotly-graph-div"')


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, f"no {name} section"
    return match.group(1)


def assert_self_contained(page: str) -> None:
    """Plotly's own bundle is in the file, once, and nothing else in it names an address (no CDN, font, style sheet
    or image from elsewhere); the bundle's own addresses are its map tiles and logo links, never loaded here."""
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1
    rest = page.replace(bundle, "")
    assert "http:" not in rest and "https:" not in rest and "//cdn" not in rest and "@import" not in rest
    assert rest.count("<script") == 1 + figure_count(page)  # the bundle, then one script per figure
    assert page.count("Plotly.newPlot(") == figure_count(page)


def test_a_digits_report_has_every_section_figure_and_the_threshold(digits_result):
    result = digits_result
    page = html_report(result, run_name="my <run> & co")
    for name in SECTIONS:
        section(page, name)
    assert "my &lt;run&gt; &amp; co" in page and "<run>" not in page
    assert_self_contained(page)

    n_flagged = result.metrics["n_flagged"]
    assert n_flagged > 0
    shown = min(TOP_FLAGGED, n_flagged)
    # loss, histogram, confusion matrix, ROC, PR, and one triplet per flagged sample shown
    assert figure_count(page) == 5 + shown
    assert figure_count(section(page, "flagged")) == shown
    assert section(page, "flagged").count('class="sample"') == shown

    threshold = section(page, "threshold")
    assert f"{result.threshold.value:.6g}" in threshold
    assert "Expected contamination" in threshold and result.threshold.explanation in threshold
    assert f"threshold {result.threshold.value:.4g}" in threshold  # the dashed line's label in the histogram
    metrics = section(page, "metrics")
    assert f"{result.metrics['precision']:.1%}" in metrics and f"{result.metrics['auroc']:.3f}" in metrics
    assert "Confusion matrix" in metrics
    baselines = section(page, "baselines")
    for name in ("PCA reconstruction", "Isolation Forest", "ECOD", "autoencoder"):
        assert name in baselines
    assert "PCA reconstruction" in section(page, "curves")  # its ROC curve beside the autoencoder's
    sentence = beats_sentence(result.metrics["auroc"], result.baselines.results.values())
    assert (html.escape(sentence) in baselines) if sentence else ("beat" not in baselines)
    settings = section(page, "settings")
    assert "Latent size" in settings and "Hidden layers" in settings and "Convolution filters" not in settings
    worst = int(result.data.indices[np.argmax(result.scores)])
    assert f"<b>#1</b> · sample {worst} ·" in section(page, "flagged")


def test_the_report_follows_the_threshold_it_is_given(digits_result):
    result = digits_result
    choice = choose_threshold(ThresholdConfig(method="quantile", q=0.5), result.scores)
    lower = result.with_threshold(choice)
    page = html_report(lower)
    flagged = int((result.scores > choice.value).sum())
    assert flagged > result.metrics["n_flagged"]
    assert f"{choice.value:.6g}" in section(page, "threshold")
    assert f"{flagged:,} of {len(result.scores):,}" in section(page, "threshold")
    assert figure_count(section(page, "flagged")) == TOP_FLAGGED

    nothing = html_report(result.with_threshold(dataclasses.replace(choice, value=float(result.scores.max()))))
    assert "Nothing is flagged at this threshold" in section(nothing, "flagged")
    assert figure_count(nothing) == 5


def test_write_report_replaces_the_file_in_one_step_and_names_a_bad_path(digits_result, tmp_path):
    path = write_report(digits_result, tmp_path / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(StudioError, match=r"cannot be written to .*missing"):
        write_report(digits_result, tmp_path / "missing" / "report.html")


def series_csv(tmp_path: Path, labelled: bool) -> Path:
    n = 240
    values = np.sin(np.arange(n) / 5)
    values[180:184] += 4
    rows = [
        f"{t},{v:.4f}" + (f",{int(180 <= i < 184)}" if labelled else "")
        for i, (t, v) in enumerate(zip(hourly(n), values, strict=True))
    ]
    return write_csv(tmp_path / "series.csv", rows, header="timestamp,value" + (",label" if labelled else ""))


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "unlabelled"])
def test_a_time_series_report_draws_the_timeline_and_lists_the_events(tmp_path, labelled):
    config = tiny_config(str(series_csv(tmp_path, labelled)), window=16, stride=2, train_span=0.5)
    config = config.replace(threshold=ThresholdConfig(method="quantile", q=0.95))
    result = run_experiment(config)
    page = html_report(result)
    assert_self_contained(page)
    events = section(page, "flagged")
    assert "anomaly score" in events and "flagged events" in events  # the timeline's score panel and title
    assert "<th>peak score</th>" in events.replace(' class="num"', "").replace(' class=""', "")
    assert "Flagged events" in section(page, "metrics")
    shown_windows = min(3, result.metrics["events"]["flagged"])
    assert figure_count(events) == 1 + shown_windows  # the timeline, and the worst windows of the top events
    if labelled:
        assert "Windows detected" in section(page, "metrics") and "in a labelled window" in events
        assert figure_count(page) == 5 + 1 + shown_windows
    else:
        assert "unknown: the data has no labels" in section(page, "dataset")
        assert "Without labels only the flagged count is known" in section(page, "metrics")
        assert "need both normal samples and anomalies" in section(page, "curves")
        assert "rank correlation" in section(page, "baselines")
        assert figure_count(page) == 2 + 1 + shown_windows  # loss and histogram; no confusion, ROC or PR


@pytest.mark.slow  # two TensorFlow subprocesses
def test_cli_report_of_a_saved_run_and_of_a_folder_that_is_not_one(digits_result, tmp_path):
    folder = save_run(digits_result, tmp_path / "digits-run")
    out = tmp_path / "out.html"
    done = cli("report", folder, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out.resolve())
    page = out.read_text(encoding="utf-8")
    title = html.escape(folder_title(folder))  # the run's readable name, as the pages show it
    assert title.startswith("Digits") and title in page
    assert f"{digits_result.threshold.value:.6g}" in section(page, "threshold")
    assert figure_count(page) == 5 + min(TOP_FLAGGED, digits_result.metrics["n_flagged"])

    refused = cli("report", tmp_path, "--out", tmp_path / "nothing.html")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1 and f"{tmp_path} is not a saved run" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "nothing.html").exists()


def test_the_download_button_is_on_the_result_pages_and_beside_the_open_run():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=1)
    for page in ("pages/train.py", "pages/threshold.py", "pages/flagged.py"):
        go(at, page)
        assert [b.label for b in at.download_button if "report" in b.label] == ["Download report (HTML)"], page
    go(at, "pages/runs.py")
    assert not [b for b in at.download_button if "report" in b.label], "no run is open yet"
    go(at, "pages/flagged.py")
    [save] = [b for b in at.button if b.label == "Save run"]
    save.click().run()
    go(at, "pages/runs.py")
    at.selectbox[0].set_value(at.selectbox[0].options[0]).run()
    [open_button] = [b for b in at.button if b.label == "Open"]
    open_button.click().run()
    assert "is open" in at.success[0].value
    assert [b.label for b in at.download_button if "report" in b.label] == ["Download report (HTML)"]
