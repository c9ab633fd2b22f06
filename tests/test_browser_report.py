"""The report in a real browser: downloaded from the dashboard's Threshold page, and written by the CLI, each file
opened in a fresh Chromium context with every network request refused, where every figure must draw.

Screenshots of the opened reports go to test-output/.
"""

import dataclasses
import re
from pathlib import Path

import pytest
from browser_support import (
    ROOT,
    SCREENSHOTS,
    WAIT,
    assert_no_errors,
    idle,
    metric,
    metric_value,
    open_demo,
    open_page,
    press_train,
    screenshot,
    set_epochs,
    skip_without_chromium,
    wait_for_model,
)
from playwright.sync_api import expect
from test_experiment_cli import cli

pytestmark = pytest.mark.browser
skip_without_chromium()


def open_offline(browser, path: Path, screenshot: str):
    """Open the report at `path` in a new context whose every request but the file itself is refused; wait until
    every figure has drawn, screenshot the whole page, and return the page and the addresses it asked for."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    asked = []

    def refuse_the_network(route):
        asked.append(route.request.url)
        return route.continue_() if route.request.url.startswith("file:") else route.abort()

    context.route("**/*", refuse_the_network)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.resolve().as_uri())
    divs = page.locator(".plotly-graph-div")
    expected = divs.count()
    assert expected >= 5
    expect(page.locator(".js-plotly-plot")).to_have_count(expected, timeout=WAIT)  # Plotly drew into each div
    for k in range(expected):
        expect(divs.nth(k).locator("svg.main-svg").first).to_be_attached(timeout=WAIT)
        assert divs.nth(k).bounding_box()["height"] > 100, f"figure {k + 1} has no height"
    images = page.locator("img")
    for k in range(images.count()):  # any raster picture is a data: URI that decodes
        assert images.nth(k).evaluate("image => image.complete && image.naturalWidth > 0")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)
    assert errors == [], errors
    assert [url for url in asked if not url.startswith("file:")] == []
    return page, context


def test_the_report_downloaded_from_the_threshold_page_opens_offline_with_every_figure(
    new_page, app_url, browser, tmp_path
):
    page = new_page()
    open_demo(page, app_url, "digits_quick")
    set_epochs(page, 2)
    press_train(page)
    wait_for_model(page, "2")
    open_page(page, "Threshold", "Threshold")
    expect(page.locator(".legendtext", has_text="ECOD")).to_be_visible(timeout=WAIT)  # the baselines are done
    idle(page)
    # A threshold of one's own, typed: the report must describe it, not the one the training chose.
    typed = page.get_by_role("spinbutton", name="Exact value")
    chosen = float(typed.input_value())
    before = metric_value(page, "Flagged")
    threshold = f"{chosen * 0.95:.6g}"
    typed.fill(threshold)
    typed.press("Enter")
    expect(metric(page, "Flagged")).not_to_have_text(before, timeout=WAIT)
    idle(page)
    flagged = metric_value(page, "Flagged")
    button = page.get_by_role("button", name="Download report (HTML)")
    button.scroll_into_view_if_needed()
    screenshot(page, "report-threshold-page")
    with page.expect_download(timeout=WAIT) as download:
        button.click()
    assert re.fullmatch(r"digits-quick-demo-report\.html", download.value.suggested_filename)
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert_no_errors(page)

    report, context = open_offline(browser, path, "report-digits-demo")
    expect(report.get_by_role("heading", name="Digits (8×8, offline)", exact=True)).to_be_visible()
    cards = report.locator(".card").filter(has=report.get_by_text("Flagged", exact=True))
    expect(cards.locator(".card-value")).to_have_text(flagged)  # the threshold on screen is the report's
    shown = report.locator("#threshold .facts dt", has_text=re.compile("^Threshold$")).locator(
        "xpath=following-sibling::dd[1]"
    )
    assert float(shown.inner_text()) == pytest.approx(float(threshold), rel=1e-5)
    samples = report.locator("#flagged .sample")
    expect(samples).to_have_count(min(12, int(flagged.replace(",", ""))))
    for legend in ("PCA reconstruction", "ECOD"):  # the baselines' ROC curves, finished before the download
        expect(report.locator("#curves .legendtext", has_text=legend)).to_be_attached()
    context.close()

    # Once saved, the Runs page offers the open run's report too.
    page.get_by_role("button", name="Save run").click()
    expect(page.get_by_text("Saved in")).to_be_visible(timeout=WAIT)
    open_page(page, "Runs", "Runs")
    expect(page.get_by_text("is open: every page works from it")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Download report (HTML)")).to_be_visible()
    screenshot(page, "report-runs-page")


def test_the_cli_report_of_a_saved_run_opens_offline_with_every_figure(browser, tmp_path):
    from core.config import ExperimentConfig, ThresholdConfig
    from core.experiment import run_experiment
    from core.runs import save_run

    config = ExperimentConfig.load(ROOT / "presets" / "digits_quick.json")
    config = config.replace(
        data=dataclasses.replace(config.data, limit=200),
        model=dataclasses.replace(config.model, kind="dense", hidden=[16], latent_dim=4),
        train=dataclasses.replace(config.train, epochs=2),
        threshold=ThresholdConfig(method="contamination", rate=0.1),
    )
    save_run(run_experiment(config), tmp_path / "run")
    done = cli("report", tmp_path / "run", "--out", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr

    report, context = open_offline(browser, tmp_path / "report.html", "report-cli-run")
    expect(report.locator("header .subtitle")).to_contain_text("Digits (8×8, offline) · dense · ")  # the run's title
    expect(report.locator("#flagged .sample").first).to_be_visible()
    context.close()
