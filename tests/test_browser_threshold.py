"""The threshold histogram in a real browser (digits demo): the line dragged with the mouse and moved with the keys,
the numbers shown during and after the move checked against core's metrics at the value Python received, and the
line and bars drawn inside the plot. Screenshots in test-output/."""

import re
from pathlib import Path

import numpy as np
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
    wait_until,
)
from playwright.sync_api import Page, expect

from core.metrics import OperatingCurve

pytestmark = pytest.mark.browser
skip_without_chromium()

CARDS = {
    "flagged": "n_flagged",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "normalsCorrect": "accuracy_normal",
    "anomaliesCorrect": "accuracy_anomaly",
}
CONFUSION = {"tp": "true_positives", "fp": "false_positives", "fn": "false_negatives", "tn": "true_negatives"}


def shown(page: Page) -> dict:
    """The component's cards as numbers (data attributes behind the text), its line's value and the confusion."""
    return page.get_by_test_id("thresholdHistogram").evaluate(
        """root => {
        const cards = {};
        for (const card of root.querySelectorAll('.card')) cards[card.dataset.metric] = card.dataset.value ?? null;
        const confusion = root.querySelector('.card.confusion');
        return {value: Number(root.dataset.value), cards,
                confusion: confusion ? {tp: +confusion.dataset.tp, fp: +confusion.dataset.fp,
                                        fn: +confusion.dataset.fn, tn: +confusion.dataset.tn} : null,
                text: root.querySelector('.card.flagged .value').textContent};
    }"""
    )


def python_value(page: Page) -> float:
    return float(page.get_by_role("spinbutton", name="Exact value").input_value())


def assert_shows_cores_metrics(found: dict, curve: OperatingCurve) -> None:
    expected = curve.at(found["value"])
    for card, name in CARDS.items():
        assert float(found["cards"][card]) == pytest.approx(expected[name], abs=1e-12), card
    assert found["confusion"] == {key: expected[name] for key, name in CONFUSION.items()}
    assert found["text"] == f"{expected['n_flagged']:,}"


def drawn_inside(page: Page) -> dict:
    """The handle's x, the plot's left and right ends, and how many bars are painted."""
    return page.get_by_test_id("thresholdHistogram").evaluate(
        """root => {
        const plot = root.querySelector('.plot').getBoundingClientRect();
        const handle = root.querySelector('.handle').getBoundingClientRect();
        const bars = [...root.querySelectorAll('[data-testid=bars] rect')];
        const inside = bars.filter(b => { const r = b.getBoundingClientRect();
            return r.width > 0 && r.height > 0 && r.left >= plot.left - 1 && r.right <= plot.right + 1; });
        return {line: handle.left + handle.width / 2, left: plot.left, right: plot.right,
                bars: bars.length, inside: inside.length};
    }"""
    )


def test_the_line_is_dragged_and_moved_by_keys_and_the_numbers_are_cores(new_page, app_url: str, runs_dir: Path):
    page = new_page(width=1400)
    open_demo(page, app_url, "digits_quick")
    set_epochs(page, 2)
    press_train(page)
    wait_for_model(page, "2")
    open_page(page, "Threshold", "Threshold")
    histogram = page.get_by_test_id("thresholdHistogram")
    expect(histogram).to_be_visible(timeout=WAIT)
    idle(page)
    page.get_by_role("button", name="Save run").click()  # the scores, read back below to compute core's metrics
    saved = page.get_by_text(re.compile(r"^Saved in .*, at threshold"))
    expect(saved).to_be_visible(timeout=WAIT)
    folder = Path(re.search(r"Saved in (.*), at threshold", saved.inner_text()).group(1))
    assert folder.parent == runs_dir
    with np.load(folder / "scores.npz") as stored:
        curve = OperatingCurve(stored["scores"], stored["labels"])

    placed = drawn_inside(page)
    assert placed["bars"] > 10 and placed["inside"] == placed["bars"], placed
    assert placed["left"] < placed["line"] < placed["right"], placed
    before = shown(page)
    assert before["value"] == pytest.approx(python_value(page), rel=1e-5)
    assert_shows_cores_metrics(before, curve)

    # Drag the line a third of the plot to the left: the cards follow during the drag, before any release.
    box = page.locator(".handle").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = max(placed["left"] + 80, x - (placed["right"] - placed["left"]) / 3)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + (target - x) * step / 10, y)
    during = shown(page)
    assert during["value"] < before["value"]
    assert int(during["cards"]["flagged"]) > int(before["cards"]["flagged"]), "the cards must follow the drag"
    assert_shows_cores_metrics(during, curve)
    page.mouse.up()
    wait_until(lambda: python_value(page) == pytest.approx(during["value"], rel=1e-5), "Python to take the release")
    idle(page)
    released = shown(page)
    assert released["value"] == during["value"]
    assert_shows_cores_metrics(released, curve)
    expect(
        page.get_by_role("link", name=f"Inspect the {int(released['cards']['flagged']):,} flagged samples")
    ).to_be_visible()
    screenshot(page, "threshold-dragged")

    # Ten quick presses are ten steps: none is lost while Python answers.
    handle = page.get_by_role("slider", name="Threshold")
    handle.focus()
    handle.press("ArrowRight")  # onto the key step's round grid
    wait_until(lambda: python_value(page) == pytest.approx(shown(page)["value"], rel=1e-5), "the first key move")
    idle(page)
    start, step = shown(page)["value"], float(handle.get_attribute("data-step"))
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert shown(page)["value"] == pytest.approx(start + 10 * step)
    wait_until(lambda: python_value(page) == pytest.approx(start + 10 * step, rel=1e-6), "Python to take 10 steps")
    idle(page)
    settled = shown(page)
    assert settled["value"] == pytest.approx(start + 10 * step)
    assert_shows_cores_metrics(settled, curve)

    # Five presses each given time to reach Python: five steps.
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(600)
    wait_until(lambda: python_value(page) == pytest.approx(start + 5 * step, rel=1e-6), "Python to take 5 steps back")
    assert shown(page)["value"] == pytest.approx(start + 5 * step)

    # Shift-drag over the chart lists the samples in that error range; the line stays where it was.
    page.keyboard.down("Shift")
    page.mouse.move(placed["left"] + 100, y)
    page.mouse.down()
    page.mouse.move(placed["right"] - 60, y, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    listed = page.get_by_text(re.compile(r"^[\d,]+ samples with an error between"))
    expect(listed).to_be_visible(timeout=WAIT)
    assert int(listed.inner_text().split()[0].replace(",", "")) > 0
    assert shown(page)["value"] == pytest.approx(start + 5 * step)
    assert_no_errors(page)
