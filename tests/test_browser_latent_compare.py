"""In a real browser: the digits demo trained and saved, a box dragged on the Latent map shows the selected
samples; a second run saved with other epochs, and both compared on Compare runs. Screenshots go to test-output/.

The server, the browser and the page helpers are in tests/browser_support.py.
"""

import re

import pytest
from browser_support import (
    WAIT,
    assert_no_errors,
    idle,
    open_demo,
    open_page,
    press_train,
    screenshot,
    set_epochs,
    skip_without_chromium,
    wait_for_model,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
skip_without_chromium()


def train_and_save(page: Page, epochs: int) -> str:
    """Train with `epochs`, press Save run; the saved run's folder name."""
    set_epochs(page, epochs)
    press_train(page)
    wait_for_model(page, str(epochs))
    page.get_by_role("button", name="Save run").click()
    saved = page.get_by_text(re.compile(r"^Saved in .+, at threshold"))
    expect(saved).to_be_visible(timeout=WAIT)
    return re.search(r"Saved in .*/([^/]+), at threshold", saved.inner_text()).group(1)


def drag_box(page: Page, chart, left: float, top: float, right: float, bottom: float) -> None:
    """Drag a box over the plot area of `chart`, from and to fractions of its width and height."""
    area = chart.locator(".nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + area["width"] * left, area["y"] + area["height"] * top
    x1, y1 = area["x"] + area["width"] * right, area["y"] + area["height"] * bottom
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=12)
    page.mouse.up()


def test_latent_map_selection_and_compare_runs(new_page, app_url: str, runs_dir):
    page = new_page()
    open_demo(page, app_url, "digits_quick")
    first = train_and_save(page, 2)

    open_page(page, "Latent map", "Latent map")
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=WAIT)
    description = page.get_by_text(re.compile(r"^PCA of the 8-number codes: all [\d,]+ points"))
    expect(description).to_be_visible()
    total = int(re.search(r"all ([\d,]+) points", description.inner_text()).group(1).replace(",", ""))
    idle(page)
    screenshot(page, "latent-1-map")
    drag_box(page, chart, 0.01, 0.01, 0.5, 0.99)  # the left half of the plot
    selected = page.get_by_role("heading", name=re.compile(r"^[\d,]+ samples? selected$"))
    expect(selected).to_be_visible(timeout=WAIT)
    assert 12 < int(selected.inner_text().split()[0].replace(",", "")) < total
    expect(page.get_by_text("The 12 with the highest scores are shown.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^#\d+ · sample \d+ · error"))).to_have_count(12)
    assert_no_errors(page)
    screenshot(page, "latent-2-selected")

    page.get_by_text("Flagged vs truth", exact=True).click()
    expect(
        page.locator(".legendtext", has_text="true alarm").or_(page.locator(".legendtext", has_text="normal")).first
    ).to_be_visible(timeout=WAIT)
    assert_no_errors(page)

    open_page(page, "Train", "Train")
    second = train_and_save(page, 3)

    from core.run_titles import titles
    from core.runs import list_runs  # imports TensorFlow: only here

    names = titles(list_runs(runs_dir))  # what the pages call the two runs
    first, second = names[str(runs_dir / first)], names[str(runs_dir / second)]
    open_page(page, "Compare runs", "Compare runs")
    picker = page.get_by_role("combobox", name="Runs")
    for name in (first, second):
        picker.click()
        page.get_by_role("option", name=re.compile("^" + re.escape(name))).click()
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name=re.compile("^Remove " + re.escape(name)))).to_be_visible(timeout=WAIT)
        idle(page)
    expect(page.get_by_role("heading", name="Settings that differ")).to_be_visible(timeout=WAIT)
    for title in ("Loss", "ROC curves", "Precision–recall curves"):
        expect(page.locator(".gtitle", has_text=title)).to_be_visible(timeout=WAIT)
    for name in (first, second):
        expect(page.locator(".legendtext", has_text=name).first).to_be_visible()
    idle(page)
    assert_no_errors(page)
    screenshot(page, "compare-1-runs")
