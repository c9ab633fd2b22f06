"""Score a sample in a real browser: after a short digits training, draw a digit on the canvas with the mouse and
see it scored."""

import re

import pytest
from browser_support import (
    WAIT,
    assert_no_errors,
    open_demo,
    open_page,
    press_train,
    screenshot,
    set_epochs,
    skip_without_chromium,
    wait_for_model,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
skip_without_chromium()


def test_a_digit_drawn_on_the_canvas_is_scored(new_page, app_url: str):
    page = new_page()
    open_demo(page, app_url, "digits_quick")
    set_epochs(page, 3)
    press_train(page)
    wait_for_model(page, "3")

    open_page(page, "Score a sample", "Score a sample")
    expect(page.get_by_text("Draw something on the canvas to score it.")).to_be_visible(timeout=WAIT)
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=WAIT)
    box = canvas.bounding_box()
    assert box is not None and box["width"] >= 200
    # A "7": a bar across the top, then a stroke down to the bottom left.
    strokes = [[(0.25, 0.2), (0.75, 0.2)], [(0.75, 0.2), (0.6, 0.5), (0.45, 0.85)]]
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()

    verdict = page.locator("p").filter(
        has_text=re.compile(r"^your drawing · score [\d.e+-]+ · .*(Flagged|Not flagged)")
    )
    expect(verdict).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"^RGBA 280×280 → grey 8×8 in \[0, 1\]"))).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=WAIT)  # the histogram and the triplet
    screenshot(page, "own-sample-drawn")
    assert_no_errors(page)
