"""End to end in a real browser: the app under `streamlit run`, driven by headless Chromium through Playwright.

The offline digits demo, from its home-page card through training, the threshold slider and the flagged
samples to a saved run. Screenshots of every page go to test-output/.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output"

if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip(f"needs Chromium at {CHROMIUM} (Debian package 'chromium')", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = free_port()
    env = dict(os.environ, ANOMALY_STUDIO_RUNS=str(tmp_path_factory.mktemp("runs")))
    log = open(tmp_path_factory.mktemp("server") / "streamlit.log", "w")  # noqa: SIM115 (closed in the finally below, after the server stops)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(app_url):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser.new_page(viewport={"width": 1440, "height": 1500})
        browser.close()


def screenshot(page: Page, name: str) -> None:
    """Once the script run has finished, so the page is drawn in full."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=60_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def open_page(page: Page, link: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)


def metric_value(page: Page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return metric.get_by_test_id("stMetricValue").inner_text()


def settled_metric_value(page: Page, label: str) -> str:
    """The metric once the reruns that keyboard moves trigger have all finished: two equal reads, app idle."""
    previous = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=30_000)
        current = metric_value(page, label)
        if current == previous:
            return current
        previous = current
        time.sleep(0.5)
    pytest.fail(f"the {label} metric kept changing")


def test_digits_demo_end_to_end(page: Page, app_url: str):
    page.goto(app_url)
    expect(page.get_by_text("Anomaly Studio finds the odd ones out")).to_be_visible(timeout=30_000)
    screenshot(page, "1-home")

    expect(page.get_by_text("Quick offline demo")).to_be_visible()
    page.get_by_role("button", name="Open demo").first.click()  # the offline digits demo comes first
    expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=60_000)
    epochs = page.get_by_label("Epochs", exact=True)
    # Far more epochs than the test waits for: on a loaded machine the live chart must still be caught mid-training.
    epochs.fill("400")
    epochs.press("Enter")
    expect(epochs).to_have_value("400")
    filters = page.get_by_role("textbox", name="Convolution filters")
    filters_before = filters.input_value()

    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Epoch 2/400 · batch"))).to_be_visible(timeout=120_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    screenshot(page, "2-train-live")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("heading", name="Current model")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("stopped by you", exact=False)).to_be_visible()
    assert 1 <= int(metric_value(page, "Epochs run")) < 400
    assert filters.input_value() == filters_before, "the settings must survive training and stopping"
    expect(epochs).to_have_value("400")
    page.get_by_role("button", name="Save run").click()
    expect(page.get_by_text("Saved in")).to_be_visible(timeout=60_000)
    screenshot(page, "3-train-done")

    open_page(page, "Threshold", "Threshold")
    histogram = page.locator(".js-plotly-plot").first
    expect(histogram).to_be_visible(timeout=60_000)
    flagged_before = metric_value(page, "Flagged")
    screenshot(page, "4-threshold")
    thumb = page.get_by_test_id("stSlider").get_by_role("slider")
    thumb.focus()
    thumb.press("Home")  # lowest threshold: every sample but the lowest-error one is flagged
    expect(
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_text("Flagged", exact=True))
        .get_by_test_id("stMetricValue")
    ).not_to_have_text(flagged_before, timeout=30_000)
    for _ in range(5):
        thumb.press("ArrowRight")
    flagged_after = int(settled_metric_value(page, "Flagged").replace(",", ""))
    screenshot(page, "5-threshold-moved")

    open_page(page, "Flagged", "Flagged samples")
    expect(
        page.get_by_text(re.compile(rf"^{flagged_after:,} of [\d,]+ samples have a reconstruction error"))
    ).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    screenshot(page, "6-flagged")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download flagged list (CSV)").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("rank,sample,error,flagged,truth") and len(rows) == flagged_after + 1

    open_page(page, "Runs", "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=60_000)
    screenshot(page, "7-runs")

    open_page(page, "Dataset", "Dataset")
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    screenshot(page, "8-dataset")
