"""The Flagged page in a real browser: the digits demo trained, its lists (all flagged, false alarms, missed
anomalies) with counts that agree with what they show, and the grid at 4 per row. Screenshots in test-output/."""

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
    wait_until,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
skip_without_chromium()

LISTS = ("All flagged", "False alarms", "Missed anomalies")


def list_counts(page: Page) -> dict[str, int]:
    """The count each "Show" option names, e.g. {"All flagged": 41, ...}."""
    show = page.get_by_role("radiogroup", name="Show")
    expect(show).to_be_visible(timeout=WAIT)
    counts = {}
    for name in LISTS:
        label = show.get_by_role("radio", name=re.compile(rf"^{name} \(")).inner_text()
        counts[name] = int(re.search(r"\(([\d,]+)\)", label).group(1).replace(",", ""))
    return counts


def show(page: Page, name: str) -> None:
    page.get_by_role("radiogroup", name="Show").get_by_role("radio", name=re.compile(rf"^{name} \(")).click()
    idle(page)


def card_titles(page: Page):
    return page.get_by_text(re.compile(r"^#\d+ · sample \d+ · error"))


def test_flagged_lists_counts_and_grid(new_page, app_url: str):
    page = new_page(width=1400)
    open_demo(page, app_url, "digits_quick")
    set_epochs(page, 2)
    press_train(page)
    wait_for_model(page, "2")
    open_page(page, "Flagged", "Flagged samples")
    idle(page)
    counts = list_counts(page)
    caption = page.get_by_text(re.compile(r"^[\d,]+ of [\d,]+ samples have a reconstruction error"))
    assert int(caption.inner_text().split(" of ")[0].replace(",", "")) == counts["All flagged"]
    assert counts["All flagged"] > 0 and counts["Missed anomalies"] > 0, counts
    expect(page.get_by_text("per-pixel error", exact=True)).to_be_visible()  # the shared colour scale's bar
    screenshot(page, "flagged-all")

    for name, words in (("False alarms", "false alarm · class"), ("Missed anomalies", "missed anomaly · class")):
        show(page, name)
        if counts[name] == 0:
            expect(page.get_by_test_id("stAlertContentInfo")).to_be_visible()
            continue
        expect(page.get_by_text(f"These {counts[name]:,} samples as a table")).to_be_visible(timeout=WAIT)
        expect(card_titles(page).filter(has_not_text=words)).to_have_count(0, timeout=WAIT)  # stale cards gone
        expect(card_titles(page)).to_have_count(min(12, counts[name]), timeout=WAIT)
        assert list_counts(page) == counts, "switching lists must not change the counts"
        assert_no_errors(page)
    screenshot(page, "flagged-missed")

    show(page, "All flagged")
    page.get_by_role("radiogroup", name="Per row").get_by_role("radio", name="4", exact=True).click()
    expect(card_titles(page)).to_have_count(min(12, counts["All flagged"]), timeout=WAIT)

    def tops() -> list[int]:
        return [round(card_titles(page).nth(k).bounding_box()["y"]) for k in range(min(5, counts["All flagged"]))]

    wait_until(lambda: len(set(tops()[:4])) == 1, "the first four cards to share a row")
    idle(page)
    if counts["All flagged"] >= 5:
        assert tops()[4] > tops()[0], "the fifth card starts the second row"
    assert_no_errors(page)
    screenshot(page, "flagged-4-per-row")
    page.set_viewport_size({"width": 1400, "height": 2400})
    screenshot(page, "flagged-4-per-row-tall")
