"""What the digits, ECG5000 and NAB art_daily demos draw, in headless Chromium: on the Threshold and Flagged pages
every shape a chart claims lies within its visible axes and is painted, no metric card is cut short, and each
threshold method chosen again keeps its parameter. One tiny training per demo (300 samples or the series, 1 epoch),
on the server every browser test shares."""

import re

import pytest
from browser_charts import check_shapes
from browser_support import (
    SCREENSHOTS,
    WAIT,
    assert_no_errors,
    assert_nothing_covered_or_cut,
    idle,
    metric,
    open_demo,
    open_page,
    press_train,
    scored_samples,
    set_epochs,
    skip_without_chromium,
    wait_for_model,
    wait_until,
)
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.fields import FIELDS

pytestmark = pytest.mark.browser
skip_without_chromium()

DEMOS = ("digits_quick", "ecg5000", "nab_art_daily")
# Trained on a slice of its samples; ECG5000 scores all its 1,000 test beats, whose "Flagged" caption must fit.
SAMPLE_LIMITS = {"digits_quick": 300}
# method -> (its parameter's field, a value other than the default, typed as the box shows it)
PARAMETERS = {
    "mean_std": ("threshold.k", "1.50"),
    "quantile": ("threshold.q", "0.900"),
    "contamination": ("threshold.rate", "0.0500"),
    "fpr": ("threshold.rate", "0.2000"),
}
METHOD = FIELDS["threshold.method"]


def train_tiny(page: Page, preset: str) -> None:
    """The demo (on a slice of its samples where SAMPLE_LIMITS says so), trained for one epoch."""
    if preset in SAMPLE_LIMITS:
        open_page(page, "Dataset", "Dataset")
        expect(page.get_by_role("heading", name="What the model sees")).to_be_visible(timeout=WAIT)
        idle(page)
        before = scored_samples(page)
        page.get_by_label("Sample limit", exact=True).fill(str(SAMPLE_LIMITS[preset]))
        page.get_by_role("button", name="Apply").click()
        wait_until(lambda: scored_samples(page) <= min(before, SAMPLE_LIMITS[preset]), "the sample limit to apply")
        idle(page)
        open_page(page, "Train", "Train")
    set_epochs(page, 1)
    press_train(page)
    wait_for_model(page, "1")


def choose_method(page: Page, method: str) -> None:
    """Pick `method` in its select box; again when a rerun (baselines finishing) closed the list meanwhile."""
    box, option = (
        page.get_by_role("combobox", name=METHOD.label),
        page.get_by_role("option", name=METHOD.label_of(method)),
    )
    for _ in range(3):
        idle(page)
        box.click()
        try:
            option.click(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(box).to_have_value(METHOD.label_of(method), timeout=WAIT)
    idle(page)


def screenshots(page: Page, name: str) -> None:
    """The page from its top, and each chart on its own (`name`-chart-N), once the script run has finished."""
    idle(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    for index, chart in enumerate(page.locator(".js-plotly-plot").all()[:4]):
        chart.screenshot(path=str(SCREENSHOTS / f"{name}-chart-{index}.png"))
    page.get_by_role("heading").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def assert_methods_keep_their_parameters(page: Page, preset: str) -> None:
    """Type each method's parameter, move the slider (the method becomes Manual), choose the method again: the
    box and the explanation still show the typed value."""
    for method, (path, typed) in PARAMETERS.items():
        label = FIELDS[path].label
        choose_method(page, method)
        box = page.get_by_label(label, exact=True)
        box.fill(typed)
        box.press("Enter")
        idle(page)
        expect(box).to_have_value(typed)
        page.get_by_role("slider").first.press("ArrowRight")
        idle(page)
        expect(page.get_by_role("combobox", name=METHOD.label)).to_have_value(METHOD.label_of("value"))
        expect(page.get_by_label(label, exact=True)).to_have_count(0)
        choose_method(page, method)
        expect(page.get_by_label(label, exact=True)).to_have_value(typed, timeout=WAIT)
        shown = f"{float(typed):.2%}" if path == "threshold.rate" else f"{float(typed):g}"
        expect(page.get_by_test_id("stAlertContentInfo").first).to_contain_text(shown)
        assert_no_errors(page)


def flag_everything(page: Page) -> None:
    """Mean + k·σ with k = -50: every sample is flagged."""
    choose_method(page, "mean_std")
    box = page.get_by_label(FIELDS["threshold.k"].label, exact=True)
    box.fill("-50")
    box.press("Enter")
    idle(page)
    total = re.search(
        r"([\d,]+) scored", page.get_by_text(re.compile(r"[\d,]+ scored (samples|timestamps)")).inner_text()
    )
    expect(metric(page, "Flagged")).to_have_text(total.group(1), timeout=WAIT)


@pytest.mark.slow
@pytest.mark.parametrize("preset", DEMOS)
def test_the_demos_threshold_and_flagged_pages_draw_what_they_claim(preset, new_page, app_url, data_dir, request):
    if preset != "digits_quick" and data_dir is None:
        request.getfixturevalue("shared_data_dir")  # skips, or fails under CI
    page = new_page()
    open_demo(page, app_url, preset)
    train_tiny(page, preset)

    open_page(page, "Threshold", "Threshold")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT)
    idle(page)
    expect(metric(page, "Flagged")).to_be_visible(timeout=WAIT)  # the histogram component has drawn its cards
    assert_no_errors(page)
    assert_nothing_covered_or_cut(page)
    shapes = check_shapes(page, f"{preset} Threshold")
    names = {shape["name"] for shape in shapes}
    if preset == "nab_art_daily":  # the timeline: the jump's labelled window, its flagged event, the threshold line
        assert {"labelled window", "flagged"} <= names, names
        assert not [text for text in page.get_by_test_id("stMetric").all_inner_texts() if "0 days" in text]
    screenshots(page, f"screen-{preset}-threshold")
    assert_methods_keep_their_parameters(page, preset)
    flag_everything(page)
    assert_nothing_covered_or_cut(page)  # "100% of 1,000" under Flagged

    open_page(page, "Flagged", "Flagged events" if preset == "nab_art_daily" else "Flagged samples")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT)
    idle(page)
    assert_no_errors(page)
    shapes = check_shapes(page, f"{preset} Flagged")
    if preset == "nab_art_daily":
        assert [shape["name"] for shape in shapes] == ["flagged"], "the event's span on its worst window"
        caption = page.get_by_text(re.compile(r"runs? of timestamps with a score above")).inner_text()
        assert not re.search(r"\b1 runs\b", caption)
        assert not page.get_by_text(re.compile(r"T\d\d:\d\d:\d\d\.0+")).count(), "raw numpy timestamps on the page"
    screenshots(page, f"screen-{preset}-flagged")
