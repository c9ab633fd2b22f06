"""In a real browser: the digits demo trains 2 epochs with TensorBoard logs, then continues 2 more; the Epochs run
card says 4, the loss chart draws 4 epochs, and the page shows the command that opens the logs.

The server, the browser and the page helpers are in tests/browser_support.py.
"""

import pytest
from browser_support import (
    TRAINING_WAIT,
    WAIT,
    assert_no_errors,
    open_demo,
    press_train,
    screenshot,
    set_epochs,
    skip_without_chromium,
    wait_for_model,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
skip_without_chromium()

TRAIN_LOSS_POINTS = """() => {
    for (const plot of document.querySelectorAll(".js-plotly-plot")) {
        const trace = (plot.data || []).find((t) => t.name === "train");
        if (trace) return trace.y.length;
    }
    return null;
}"""


def train_loss_points(page: Page) -> int | None:
    """How many epochs the loss chart on the page draws (its per-epoch "train" trace), None without one."""
    return page.evaluate(TRAIN_LOSS_POINTS)


def test_digits_demo_continues_training_where_it_stopped(new_page, app_url: str):
    page = new_page()
    open_demo(page, app_url, "digits_quick")
    set_epochs(page, 2)
    page.get_by_text("Write TensorBoard logs", exact=True).click()
    expect(page.get_by_role("switch", name="Write TensorBoard logs")).to_be_checked()
    press_train(page)
    wait_for_model(page, "2")
    assert train_loss_points(page) == 2

    more = page.get_by_label("More epochs", exact=True)
    more.fill("2")
    expect(more).to_have_value("2")
    page.get_by_role("button", name="Continue", exact=True).click()
    wait_for_model(page, "4")
    expect(page.get_by_text("Training completed every epoch.", exact=False)).to_be_visible(timeout=TRAINING_WAIT)
    page.wait_for_function(f"() => ({TRAIN_LOSS_POINTS})() === 4", timeout=WAIT)
    expect(page.get_by_text("continued", exact=True).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("tensorboard --logdir", exact=False)).to_be_visible(timeout=WAIT)
    assert_no_errors(page)
    screenshot(page, "continue-training")
