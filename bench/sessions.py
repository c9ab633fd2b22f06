"""Many sessions at once: five browser users train the digits demo, move the threshold slider and save, on one server.

Each session (a fresh browser context in one headless Chromium, driven by Playwright's async API) opens the
"Quick offline demo" from Home, trains it for 2 epochs (trainings queue: at most half the CPU cores' worth run
at once), moves the Threshold page's slider with the arrow keys, waiting for each move's rerun (the histogram's
threshold line at the new value), and presses Save run. The server's resident memory is read from
/proc/PID/status before, after, and once the sessions have closed.

bench/latency.py reuses the server and page helpers here.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO, Settings, Table, free_port, progress, wait_for_url

CHROMIUM = "/usr/bin/chromium"
QUICK_DEMO = "digits_quick"
WAIT = 120_000  # ms: one script run on a loaded 2-core machine, TensorFlow's first import included
TRAINING_WAIT = 600_000  # ms: queue wait + training + scoring of several sessions at once
MOVE_WAIT = 60_000  # ms: one slider move's rerun
CLOSED_WAIT_S = {True: 10, False: 30}  # seconds waited after the sessions closed, before the last memory reading
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

# Installed in every page before the app's scripts: the time of the last key press and of the last pointer move
# (the event's own time stamp), and of the first websocket message sent after the key press (the move sent to
# Python, once the keys rest).
PROBE = """
(() => {
  window.__bench = {press: 0, send: 0, move: 0};
  document.addEventListener('keydown', () => { window.__bench.press = performance.now(); window.__bench.send = 0; }, true);
  document.addEventListener('pointermove', (e) => { window.__bench.move = e.timeStamp; }, true);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__bench.press && !window.__bench.send) window.__bench.send = performance.now();
    return send.call(this, data);
  };
})();
"""

# The Threshold page's histogram component (in its shadow root), and the threshold its line stands at.
HISTOGRAM_ROOT = """
() => {
  for (const host of document.querySelectorAll('[data-testid=stBidiComponentIsolated]')) {
    const root = host.shadowRoot && host.shadowRoot.querySelector('[data-testid=thresholdHistogram]');
    if (root) return root;
  }
  return null;
}
"""
THRESHOLD_LINE = f"""
() => {{
  const root = ({HISTOGRAM_ROOT})();
  return root ? Number(root.dataset.value) : null;
}}
"""

# True once the line stands somewhere else than `before` (the cards beside it redrawn in the same frame); then the
# ms since the key press, the new threshold and the Flagged card.
ANSWERED = f"""
([before]) => {{
  const root = ({HISTOGRAM_ROOT})();
  if (!root || Number(root.dataset.value) === before) return false;
  return {{
    ms: performance.now() - window.__bench.press,
    threshold: Number(root.dataset.value),
    flagged: root.querySelector('.card.flagged').dataset.value,
  }};
}}
"""

# True once Python has taken the move (the Exact value box shows `value`); then the ms since the move was sent.
PYTHON_ANSWERED = """
([value]) => {
  const box = [...document.querySelectorAll('input')].find(i => i.getAttribute('aria-label') === 'Exact value');
  if (!box || Math.abs(Number(box.value) - value) > 1e-5 * Math.max(Math.abs(value), 1e-12)) return false;
  return {server_ms: window.__bench.send ? performance.now() - window.__bench.send : null};
}
"""


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


# ------------------------------------------------------------------------------------------ the server


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    runs_dir: Path
    log: Path

    def rss_mib(self) -> float:
        """Resident memory (VmRSS) of the streamlit process, in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")

    def saved_runs(self) -> int:
        return sum(1 for path in self.runs_dir.iterdir() if path.is_dir() and (path / "run.json").is_file())


@contextmanager
def server(data_dir: Path | None, runs_dir: Path | None = None) -> Iterator[Server]:
    """`python -m streamlit run app.py` on a free port, its runs in a temporary folder (or `runs_dir`), reading
    built-in datasets from `data_dir` (None: downloading them). If it does not start, the error holds the end of
    its log."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as folder:
        runs = runs_dir or Path(folder) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        log = Path(folder) / "streamlit.log"
        port = free_port()
        env = dict(os.environ, ANOMALY_STUDIO_RUNS=str(runs))
        env.pop("ANOMALY_STUDIO_DATA", None)
        if data_dir is not None:
            env["ANOMALY_STUDIO_DATA"] = str(data_dir)
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
        command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        with open(log, "w") as out:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                wait_for_url(f"http://127.0.0.1:{port}/_stcore/health", timeout=120, server=process)
            except OSError as exc:  # ChildProcessError included
                raise RuntimeError(
                    f"streamlit did not start ({exc}); its log ends:\n{log.read_text()[-3000:]}"
                ) from None
            yield Server(f"http://localhost:{port}", process, runs, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@asynccontextmanager
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser, width: int = 1280, height: int = 1100):
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.add_init_script(PROBE)
    return await context.new_page()


# ------------------------------------------------------------------------------------------ page helpers


async def visible(locator, timeout: float = WAIT) -> None:
    await locator.first.wait_for(state="visible", timeout=timeout)


async def idle(page, timeout: float = WAIT) -> None:
    await page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=timeout)


async def errors_on(page) -> list[str]:
    """Traceback boxes and st.error messages on the page."""
    found = await page.get_by_test_id("stException").all_inner_texts()
    return found + await page.get_by_test_id("stAlertContentError").all_inner_texts()


async def open_page(page, link: str, heading: str) -> None:
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    await visible(page.get_by_role("heading", name=heading, exact=True))


def metric(page, label: str):
    return (
        page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).get_by_test_id("stMetricValue")
    )


async def open_demo(page, url: str, preset: str = QUICK_DEMO) -> None:
    """Home's demo card → Train, its form painted."""
    await page.goto(url)
    button = page.locator(f".st-key-preset-{preset}").get_by_role("button", name="Open demo")
    await visible(button)
    await button.click()
    await visible(page.get_by_role("heading", name="Train", exact=True))
    await visible(page.get_by_role("button", name="Train", exact=True))


async def set_epochs(page, epochs: int) -> None:
    field = page.get_by_label("Epochs", exact=True)
    await field.fill(str(epochs))


def seconds_of(card: str) -> float:
    """The Train page's m:ss duration."""
    minutes, secs = card.strip().split(":")
    return 60 * int(minutes) + int(secs)


@dataclass
class Moves:
    """The slider moves of one or more sessions: round trips in ms, and (threshold, flagged) pairs seen."""

    key_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    seen: list[tuple[float, int]] = field(default_factory=list)
    unanswered: int = 0

    def add(self, other: Moves) -> None:
        self.key_ms += other.key_ms
        self.request_ms += [ms for ms in other.request_ms if ms is not None]
        self.seen += other.seen
        self.unanswered += other.unanswered

    def consistent(self) -> bool:
        """The flagged count never rises as the threshold rises, and one threshold always flags one count."""
        by_threshold: dict[float, set[int]] = {}
        for threshold, flagged in self.seen:
            by_threshold.setdefault(round(threshold, 12), set()).add(flagged)
        if any(len(counts) > 1 for counts in by_threshold.values()):
            return False
        counts = [next(iter(by_threshold[t])) for t in sorted(by_threshold)]
        return all(a >= b for a, b in zip(counts, counts[1:], strict=False))


MOVES_EACH_WAY = 25


async def move_slider(page, count: int, moves: Moves) -> None:
    """Press ArrowLeft 25 times, ArrowRight 25 times, and so on, `count` presses in all, on the Threshold page's
    histogram line (it stays within 25 steps below where it started), each time waiting until the browser has
    redrawn the line and cards (key_ms) and then until Python has taken the move (request_ms: from the move sent)."""
    line = page.get_by_role("slider", name="Threshold")
    await line.focus()
    for done in range(count):
        key = "ArrowLeft" if (done // MOVES_EACH_WAY) % 2 == 0 else "ArrowRight"
        before = await page.evaluate(THRESHOLD_LINE)
        await line.press(key)
        try:
            handle = await page.wait_for_function(ANSWERED, arg=[before], polling="raf", timeout=MOVE_WAIT)
            answer = await handle.json_value()
            taken = await page.wait_for_function(
                PYTHON_ANSWERED, arg=[answer["threshold"]], polling=10, timeout=MOVE_WAIT
            )
        except Exception:  # a move the page never answered is counted, not fatal
            moves.unanswered += 1
            continue
        moves.key_ms.append(answer["ms"])
        moves.request_ms.append((await taken.json_value())["server_ms"])
        moves.seen.append((answer["threshold"], int(answer["flagged"])))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------ one session


@dataclass
class SessionResult:
    errors: list[str] = field(default_factory=list)
    queued: bool = False
    wait_s: float = float("nan")  # Train click → the finished model's cards (queue wait + training + scoring)
    training_s: float = float("nan")  # the "Training time" card
    saved: bool = False
    moves: Moves = field(default_factory=Moves)


async def one_session(
    browser, url: str, moves: int, epochs: int, start: asyncio.Event, contexts: list, ready: list
) -> SessionResult:
    result = SessionResult()
    page = await new_page(browser, 1200, 1000)
    contexts.append(page.context)
    try:
        await open_demo(page, url)
        await set_epochs(page, epochs)
        ready.append(page)
        await start.wait()  # every session presses Train at once
        started = time.perf_counter()
        await page.get_by_role("button", name="Train", exact=True).click()
        model = page.get_by_role("heading", name="Current model")
        queued = page.get_by_text(re.compile(r"^Queued: "))
        deadline = time.monotonic() + TRAINING_WAIT / 1000
        while not await model.count():
            result.queued = result.queued or bool(await queued.count())
            if time.monotonic() > deadline:
                raise TimeoutError("training did not end")
            await asyncio.sleep(0.1)
        result.wait_s = time.perf_counter() - started
        await visible(metric(page, "Training time"))
        result.training_s = seconds_of(await metric(page, "Training time").inner_text())
        await idle(page)
        result.errors += await errors_on(page)

        await open_page(page, "Threshold", "Threshold")
        await visible(page.get_by_test_id("thresholdHistogram"))
        await idle(page)
        await move_slider(page, moves, result.moves)
        result.errors += await errors_on(page)

        await page.get_by_role("button", name="Save run").click()
        saved = page.get_by_role("button", name="Saved")
        await visible(saved)
        result.saved = await saved.is_disabled()
        await idle(page)
        result.errors += await errors_on(page)
    except Exception as exc:  # reported in the table, not fatal to the other sessions
        result.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return result


# ------------------------------------------------------------------------------------------ the run


@dataclass
class SessionsReport:
    sessions: int
    moves_per_session: int
    results: list[SessionResult]
    rss_before: float
    rss_after: float
    rss_closed: float
    closed_wait_s: float
    saved_runs: int
    tracebacks: int
    load: str
    cores: int

    @property
    def errors(self) -> list[str]:
        return [error for result in self.results for error in result.errors]

    @property
    def moves(self) -> Moves:
        total = Moves()
        for result in self.results:
            total.add(result.moves)
        return total


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


async def drive(srv: Server, sessions: int, moves: int, epochs: int, closed_wait_s: float) -> SessionsReport:
    async with chromium() as browser:
        # The engine (TensorFlow) loaded, as after any first visit: Home, then Train, then the tab closed.
        warm = await new_page(browser)
        await open_demo(warm, srv.url)
        await idle(warm)
        await warm.context.close()
        await asyncio.sleep(2)
        rss_before = srv.rss_mib()
        load = load_average()

        start, contexts, ready = asyncio.Event(), [], []
        tasks = [
            asyncio.create_task(one_session(browser, srv.url, moves, epochs, start, contexts, ready))
            for _ in range(sessions)
        ]
        # Each session opens the demo, then waits for the others: all press Train at once.
        while len(ready) < sessions and not any(task.done() for task in tasks):
            await asyncio.sleep(0.05)
        start.set()
        results = await asyncio.gather(*tasks)
        rss_after = srv.rss_mib()
        load = f"{load} before; {load_average()} after"
        for context in contexts:
            await context.close()
    await asyncio.sleep(closed_wait_s)
    return SessionsReport(
        sessions,
        moves,
        list(results),
        rss_before,
        rss_after,
        srv.rss_mib(),
        closed_wait_s,
        srv.saved_runs(),
        srv.tracebacks(),
        load,
        os.cpu_count() or 0,
    )


def run_sessions(data_dir: Path, sessions: int = 5, moves: int = 500, epochs: int = 2, closed_wait_s: float = 30):
    """Start a server, drive `sessions` browser sessions through it at once, and report what they saw."""
    with server(data_dir) as srv:
        return asyncio.run(drive(srv, sessions, moves, epochs, closed_wait_s))


def sessions_table(report: SessionsReport) -> Table:
    moves = report.moves
    wait = [r.wait_s for r in report.results]
    trained = [r.training_s for r in report.results]
    rows = [
        ["sessions at once · slider moves each", f"{report.sessions} · {report.moves_per_session}"],
        [
            "exceptions and st.error seen (pages) · tracebacks in the server log",
            f"{len(report.errors)} · {report.tracebacks}",
        ],
        ["runs saved (folders with run.json)", f"{report.saved_runs} of {report.sessions}"],
        ["sessions that showed “Queued: …”", f"{sum(r.queued for r in report.results)} of {report.sessions}"],
        ["training time per session (Training time card), s", ", ".join(f"{s:.0f}" for s in trained)],
        ["slowest wait: Train click → model cards (queue + training + scoring)", f"{max(wait):.1f} s"],
        [
            "slider moves answered · flagged counts consistent",
            f"{len(moves.key_ms)} of {report.sessions * report.moves_per_session} · {'yes' if moves.consistent() else '**no**'}",
        ],
    ]
    if moves.key_ms:
        rows.append(
            [
                "slider round trip, key press → histogram + cards redrawn: p50 / p90 / max",
                " / ".join(f"{percentile(moves.key_ms, q):.0f} ms" for q in (0.5, 0.9, 1.0)),
            ]
        )
    if moves.request_ms:
        rows.append(
            [
                "… of which from the rerun request sent (after the slider's debounce): p50 / p90 / max",
                " / ".join(f"{percentile(moves.request_ms, q):.0f} ms" for q in (0.5, 0.9, 1.0)),
            ]
        )
    rows += [
        ["server RSS before (engine loaded, no session open)", f"{report.rss_before:,.0f} MiB"],
        ["server RSS after every session saved", f"{report.rss_after:,.0f} MiB"],
        [
            f"server RSS {report.closed_wait_s:.0f} s after the sessions closed",
            f"{report.rss_closed:,.0f} MiB ({report.rss_closed - report.rss_before:+,.0f} MiB)",
        ],
    ]
    notes = [
        f"One server, one headless Chromium, a browser context per session; every session presses Train at the same "
        f"moment (digits demo, 2 epochs) and watches its live chart; at most {max(1, report.cores // 2)} "
        f"training(s) at once ({report.cores} cores). Load average {report.load}.",
        "A slider move is one ArrowRight/ArrowLeft on the Threshold slider, then a wait until the histogram's "
        "threshold line has moved (the Flagged card above it is redrawn by then); the next move follows. 25 moves left, 25 right, and so on. "
        "Times are taken in the page (performance.now) with 10 ms polling, all sessions' moves together.",
    ]
    if report.errors:
        notes.append("Errors: " + "; ".join(sorted(set(report.errors)))[:800])
    return Table(f"Many sessions: {report.sessions} browser users at once", ["measurement", "value"], rows, notes)


def tables(settings: Settings) -> Iterator[Table]:
    if not browser_available():
        yield Table("Many sessions", ["measurement", "value"], [["skipped", f"no playwright or {CHROMIUM}"]])
        return
    sessions, moves = (2, 50) if settings.quick else (5, 500)
    progress(f"sessions: {sessions} sessions, {moves} slider moves each")
    report = run_sessions(settings.data_dir, sessions, moves, closed_wait_s=CLOSED_WAIT_S[settings.quick])
    yield sessions_table(report)
