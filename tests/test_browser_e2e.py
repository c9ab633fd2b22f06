"""End to end in a real browser: the app under `streamlit run`, driven by headless Chromium through Playwright.

- The offline digits demo, from its home-page card through training, the threshold slider and the flagged
  samples to a saved run. Screenshots of every page go to test-output/.
- Every Home demo opens and trains (on a small slice of its data, one epoch).
- Five browser sessions that train and save at the same moment save five runs.
- A reload finds the session, its running training included.

The server, the browser and the page helpers are in tests/browser_support.py.
"""

import json
import re
from pathlib import Path

import pytest
from browser_support import (
    ROOT,
    WAIT,
    assert_no_errors,
    assert_nothing_covered_or_cut,
    idle,
    metric,
    metric_value,
    open_demo,
    open_page,
    press_train,
    scored_samples,
    screenshot,
    session_id,
    set_epochs,
    settled_metric_value,
    skip_without_chromium,
    wait_for_model,
    wait_until,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
skip_without_chromium()

PRESETS = sorted((ROOT / "presets").glob("*.json"))
QUICK_DEMO = "digits_quick"
# The Dataset page's "Sample limit" each demo is trained with here: small, but each must still have anomalies
# to score (300 MNIST samples hold only ~34 ones, whose 1 % contamination rounds to no 3s at all).
SAMPLE_LIMITS = {"mnist_ones_threes": 3000}
DEFAULT_SAMPLE_LIMIT = 300


# ------------------------------------------------------------------------------------------ the digits demo


def test_digits_demo_end_to_end(new_page, app_url: str):
    page = new_page()
    page.goto(app_url)
    expect(page.get_by_text("Anomaly Studio finds the odd ones out")).to_be_visible(timeout=30_000)
    screenshot(page, "1-home")
    assert_no_errors(page)

    expect(page.get_by_text("Quick offline demo")).to_be_visible()
    page.get_by_role("button", name="Open demo").first.click()  # the offline digits demo comes first
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=WAIT)
    # Far more epochs than the test waits for: on a loaded machine the live chart must still be caught mid-training.
    epochs = set_epochs(page, 400)
    filters = page.get_by_role("textbox", name="Convolution filters")
    quick_demo = json.loads((ROOT / "presets" / f"{QUICK_DEMO}.json").read_text())
    filters_before = ", ".join(map(str, quick_demo["model"]["filters"]))
    expect(filters).to_have_value(filters_before)  # the demo's settings

    press_train(page)
    # From the second epoch on, the chart has a line (each epoch takes a fraction of a second: "Epoch 2" may be skipped).
    expect(page.get_by_text(re.compile(r"Epoch ([2-9]|\d\d+)/400 · batch"))).to_be_visible(timeout=120_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.get_by_role("button", name="Train", exact=True)).to_have_count(0)  # no second training meanwhile
    screenshot(page, "2-train-live", wait_idle=False)
    page.get_by_role("button", name="Stop training").click()
    wait_for_model(page, re.compile(r"^\d+$"))
    expect(page.get_by_text("stopped by you", exact=False)).to_be_visible()
    assert 1 <= int(metric_value(page, "Epochs run")) < 400
    assert filters.input_value() == filters_before, "the settings must survive training and stopping"
    expect(epochs).to_have_value("400")
    page.get_by_role("button", name="Save run").click()
    expect(page.get_by_text("Saved in")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Saved")).to_be_disabled()
    assert_no_errors(page)
    screenshot(page, "3-train-done")
    assert_nothing_covered_or_cut(page)

    open_page(page, "Threshold", "Threshold")
    histogram = page.get_by_test_id("thresholdHistogram")
    expect(histogram).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Saved")).to_be_disabled()
    # The classical baselines, computed in the background, join the autoencoder's ROC chart.
    for baseline in ("PCA reconstruction", "Isolation Forest", "kNN distance", "ECOD"):
        expect(page.locator(".legendtext", has_text=baseline)).to_be_visible(timeout=WAIT)
    flagged_before = metric_value(page, "Flagged")
    screenshot(page, "4-threshold")
    assert_nothing_covered_or_cut(page)
    line = page.get_by_role("slider", name="Threshold")
    line.focus()
    line.press("Home")  # the lowest threshold on the axis: every sample is flagged
    expect(metric(page, "Flagged")).not_to_have_text(flagged_before, timeout=30_000)
    for _ in range(5):
        line.press("ArrowRight")
    flagged_after = int(settled_metric_value(page, "Flagged").replace(",", ""))
    expect(page.get_by_role("button", name="Save threshold")).to_be_visible(timeout=WAIT)  # the saved run is behind
    assert_no_errors(page)
    screenshot(page, "5-threshold-moved")

    open_page(page, "Flagged", "Flagged samples")
    expect(
        page.get_by_text(re.compile(rf"^{flagged_after:,} of [\d,]+ samples have a reconstruction error"))
    ).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    screenshot(page, "6-flagged")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download this list (CSV)").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("rank,sample,error,flagged,truth") and len(rows) == flagged_after + 1

    open_page(page, "Runs", "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=WAIT)
    screenshot(page, "7-runs")

    open_page(page, "Dataset", "Dataset")
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    assert_no_errors(page)
    screenshot(page, "8-dataset")


# ------------------------------------------------------------------------------------------ every demo


@pytest.mark.parametrize("preset", PRESETS, ids=[path.stem for path in PRESETS])
def test_every_home_demo_opens_and_trains(preset: Path, new_page, app_url: str, data_dir, request):
    """Open the demo, train it for one epoch on a small slice of its samples (time series: on all of it)."""
    config = json.loads(preset.read_text())
    if config["data"]["dataset"] != "digits" and data_dir is None:
        request.getfixturevalue("shared_data_dir")  # skips, or fails under CI
    limit = SAMPLE_LIMITS.get(preset.stem, DEFAULT_SAMPLE_LIMIT)
    inject = config["data"].get("inject")
    injected = inject["count"] if inject else 0

    page = new_page()
    open_demo(page, app_url, preset.stem)
    expect(page.get_by_label("Epochs", exact=True)).to_have_value(str(config["train"]["epochs"]))

    open_page(page, "Dataset", "Dataset")
    expect(page.get_by_role("heading", name="What the model sees")).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT)
    idle(page)
    sliced = page.get_by_label("Sample limit", exact=True).count() > 0  # a time series has windows, not samples
    if sliced:
        before = scored_samples(page)
        page.get_by_label("Sample limit", exact=True).fill(str(limit))
        page.get_by_role("button", name="Apply").click()
        # At most `limit` scored samples of the dataset itself, plus the injected ones; some of them anomalies.
        wait_until(lambda: scored_samples(page) <= min(before, limit + injected), f"the sample limit {limit} to apply")
        expect(
            page.get_by_text(re.compile(r"\. [1-9][\d,]* of the [\d,]+ scored samples are anomalies"))
        ).to_be_visible()
        idle(page)
    assert_no_errors(page)

    open_page(page, "Train", "Train")
    if sliced:
        caption = page.get_by_text(re.compile(r"trains on [\d,]+ samples of shape .* and scores [\d,]+\."))
        scored = int(re.search(r"scores ([\d,]+)\.", caption.inner_text()).group(1).replace(",", ""))
        assert scored <= limit + injected, "Train must use the slice applied on the Dataset page"
    set_epochs(page, 1)
    press_train(page)
    wait_for_model(page, "1")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    assert_no_errors(page)
    screenshot(page, f"demo-{preset.stem}")


# ------------------------------------------------------------------------------------------ sessions


def test_five_sessions_training_and_saving_at_once_save_five_runs(new_page, app_url: str, runs_dir: Path):
    def run_folders() -> set:
        return {path for path in runs_dir.iterdir() if path.is_dir() and not path.name.startswith(".")}

    before = run_folders()
    pages = [new_page(1200, 1000) for _ in range(5)]
    for page in pages:
        open_demo(page, app_url, QUICK_DEMO)
        set_epochs(page, 1)
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click()  # all five train at once
    for page in pages:
        expect(
            page.get_by_role("button", name="Stop training").or_(page.get_by_role("heading", name="Current model"))
        ).to_be_visible(timeout=WAIT)
    assert len({session_id(page) for page in pages}) == 5, "each browser session must get its own workspace"
    # One session watches the live chart; the others wait on Home meanwhile and come back to Train later. (Five
    # pages each redrawing a live chart twice a second slowed the trainings about fivefold on this 2-core machine.)
    watching, others = pages[0], pages[1:]
    for page in others:
        open_page(page, "Home", "Anomaly Studio")
    wait_for_model(watching, "1")
    for page in others:
        open_page(page, "Train", "Train")
    for page in pages:
        wait_for_model(page, "1")
        expect(page.get_by_role("button", name="Save run")).to_be_enabled(timeout=WAIT)
        idle(page)

    # Every page clicks its Save run button at the same wall-clock millisecond.
    at = pages[0].evaluate("Date.now()") + 1000
    for page in pages:
        page.evaluate(
            """at => setTimeout(() => [...document.querySelectorAll('button')]
                                          .find(b => b.innerText.includes('Save run')).click(), at - Date.now())""",
            at,
        )
    saved_in = []
    for page in pages:
        expect(page.get_by_role("button", name="Saved")).to_be_disabled(timeout=WAIT)
        caption = page.get_by_text(re.compile(r"^Saved in .+, at threshold"))
        expect(caption).to_be_visible()
        saved_in.append(Path(re.match(r"Saved in (.+), at threshold", caption.inner_text()).group(1)).resolve())
        assert_no_errors(page)
    screenshot(pages[-1], "sessions-saved")

    new = run_folders() - before
    assert len(new) == 5, sorted(path.name for path in new)
    assert {path.resolve() for path in new} == set(saved_in), "each session names the folder it saved"
    for folder in new:
        assert (folder / "run.json").is_file(), f"{folder.name} has no run.json"


def progress(page: Page, epochs: int) -> tuple:
    """(epoch, batch) of the live progress text "Epoch E/epochs · batch B/N · …"."""
    text = page.get_by_text(re.compile(rf"Epoch \d+/{epochs} · batch"))
    expect(text).to_be_visible(timeout=WAIT)
    epoch, batch = re.search(rf"Epoch (\d+)/{epochs} · batch (\d+)/", text.inner_text()).groups()
    return int(epoch), int(batch)


def test_a_reload_finds_the_session_and_its_running_training(new_page, app_url: str):
    page = new_page()
    open_demo(page, app_url, QUICK_DEMO)
    set_epochs(page, 300)
    press_train(page)
    before = progress(page, 300)
    session = session_id(page)

    page.reload()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Stop training")).to_be_visible(timeout=WAIT)
    assert progress(page, 300) >= before, "the reloaded page must show the same training, further on"
    assert session_id(page) == session, "a reload must keep the session id"
    expect(page.get_by_test_id("stSidebar").get_by_text("Training…")).to_be_visible()
    screenshot(page, "reload-training", wait_idle=False)

    page.get_by_role("button", name="Stop training").click()
    wait_for_model(page, re.compile(r"^\d+$"))
    assert before[0] <= int(metric_value(page, "Epochs run")) < 300
    expect(page.get_by_text("stopped by you", exact=False)).to_be_visible()
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("300")
    assert session_id(page) == session
    assert_no_errors(page)
    screenshot(page, "reload-stopped")
