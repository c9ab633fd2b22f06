"""What the browser tests share: the dashboard under `streamlit run` and headless Chromium (fixtures, imported
by tests/conftest.py so one server and one browser serve every browser test module), and the page helpers.

The server runs with ANOMALY_STUDIO_DATA at the shared datasets (when present) and its own ANOMALY_STUDIO_RUNS;
each test gets fresh browser contexts (separate users).
"""

import os
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output"
WAIT = 60_000  # ms: a script run on this loaded machine, TensorFlow's first import included
TRAINING_WAIT = 240_000  # ms: training (several at once) and scoring


def skip_without_chromium() -> None:
    """Skip the calling test module where Chromium is absent (never in CI, which must run it)."""
    if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian package 'chromium')", allow_module_level=True)


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-runs")


@pytest.fixture(scope="session")
def data_dir(request):
    """The shared datasets, or None where they are absent (then only the digits tests can run; CI fails)."""
    try:
        return request.getfixturevalue("shared_data_dir")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def app_url(runs_dir, data_dir):
    """The dashboard under `streamlit run` (bench.sessions.server), as the benches start it."""
    from bench.sessions import server

    with server(data_dir, runs_dir) as running:
        yield running.url


@pytest.fixture(scope="session")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    from bench.sessions import CHROMIUM_ARGS  # the same browser flags as the sessions bench

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts: each one a separate user, with its own Streamlit session and workspace."""
    contexts = []

    def make(width: int = 1440, height: int = 1500):
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def idle(page: Page, timeout: float = WAIT) -> None:
    """Wait until the script run has finished (the running indicator is gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout)


def screenshot(page: Page, name: str, wait_idle: bool = True) -> None:
    """Once the script run has finished, so the page is drawn in full (a live training chart never idles)."""
    if wait_idle:
        idle(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def assert_no_errors(page: Page) -> None:
    """No traceback box and no st.error on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, f"st.error on the page: {errors.all_inner_texts()}"


def open_page(page: Page, link: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=WAIT)


def metric(page: Page, label: str):
    """A metric card's value: Streamlit's, or one of the Threshold page's histogram component."""
    streamlit_card = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    histogram_card = page.locator("[data-testid=thresholdHistogram] .card").filter(
        has=page.locator(".label").get_by_text(label, exact=True)
    )
    return streamlit_card.get_by_test_id("stMetricValue").or_(histogram_card.locator(".value"))


def metric_value(page: Page, label: str) -> str:
    return metric(page, label).inner_text()


def settled_metric_value(page: Page, label: str) -> str:
    """The metric once the reruns that keyboard moves trigger have all finished: two equal reads, app idle."""
    previous = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        idle(page, 30_000)
        current = metric_value(page, label)
        if current == previous:
            return current
        previous = current
        time.sleep(0.5)
    pytest.fail(f"the {label} metric kept changing")


def session_id(page: Page) -> str:
    """The workspace id the URL carries as ?session=ID."""
    expect(page).to_have_url(re.compile(r"[?&]session=[\w-]{8,}"), timeout=WAIT)
    return parse_qs(urlparse(page.url).query)["session"][0]


def open_demo(page: Page, app_url: str, preset: str) -> None:
    """From Home, the demo card's Open demo button: it fills every setting and lands on Train."""
    page.goto(app_url)
    card_button = page.locator(f".st-key-preset-{preset}").get_by_role("button", name="Open demo")
    expect(card_button).to_be_visible(timeout=WAIT)
    card_button.click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=WAIT)


def set_epochs(page: Page, epochs: int):
    """Type the Epochs of the Train form (applied only when Train is pressed)."""
    field = page.get_by_label("Epochs", exact=True)
    field.fill(str(epochs))
    expect(field).to_have_value(str(epochs))
    return field


def press_train(page: Page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("button", name="Stop training")).to_be_visible(timeout=WAIT)


def wait_for_model(page: Page, epochs_run: str) -> None:
    """Training has ended and the finished model's cards show."""
    expect(page.get_by_role("heading", name="Current model")).to_be_visible(timeout=TRAINING_WAIT)
    expect(metric(page, "Epochs run")).to_have_text(epochs_run, timeout=WAIT)


def scored_samples(page: Page) -> int:
    """The Dataset page's count of scored samples, from its caption."""
    caption = page.get_by_text(re.compile(r"of the [\d,]+ scored samples are anomalies"))
    expect(caption).to_be_visible(timeout=WAIT)
    return int(re.search(r"of the ([\d,]+) scored samples", caption.inner_text()).group(1).replace(",", ""))


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def assert_nothing_covered_or_cut(page: Page) -> None:
    """No metric card's title, value or caption (delta) is cut short with an ellipsis, and no Plotly toolbar
    overlaps its chart's legend (both measured from the layout; at least one card must be on the page, the
    histogram component's cards included)."""
    found = page.evaluate(
        """() => {
        const cut = [], cards = [];
        for (const part of document.querySelectorAll(
            '[data-testid=stMetricLabel] *, [data-testid=stMetricValue] *, [data-testid=stMetricDelta] *')) {
            if (getComputedStyle(part).textOverflow !== 'ellipsis') continue;
            cards.push(part.textContent);
            if (part.scrollWidth > part.clientWidth + 1) cut.push(part.textContent);
        }
        const deep = (root, selector) => [...root.querySelectorAll(selector)].concat(
            ...[...root.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => deep(e.shadowRoot, selector)));
        for (const part of deep(document, '[data-testid=thresholdHistogram] .card > *')) {
            cards.push(part.textContent);
            if (part.scrollWidth > part.clientWidth + 1) cut.push(part.textContent);
        }
        for (const host of document.querySelectorAll('[data-testid=stBidiComponentIsolated]')) {
            for (const part of host.shadowRoot ? host.shadowRoot.querySelectorAll('.card > *') : []) {
                cards.push(part.textContent);
                if (part.scrollWidth > part.clientWidth + 1) cut.push(part.textContent);
            }
        }
        const covered = [], legends = [];
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            const legend = plot.querySelector('g.legend'), toolbar = plot.querySelector('.modebar');
            if (!legend || !toolbar) continue;
            const a = legend.getBoundingClientRect(), b = toolbar.getBoundingClientRect();
            legends.push(legend.textContent);
            if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) covered.push(legend.textContent);
        }
        return {cut, cards, covered, legends};
    }"""
    )
    assert found["cards"], f"no metric card to measure: {found}"
    assert found["cut"] == [], f"cut short: {found['cut']}"
    assert found["covered"] == [], f"legends under the Plotly toolbar: {found['covered']}"
