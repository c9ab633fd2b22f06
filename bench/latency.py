"""Responsiveness in a real browser: first visit to Train, Train click → first progress, the threshold line moved
by keys and dragged by the pointer, the first UMAP map, and the ETA.

On a fresh server each: the digits demo, and a 70,000-sample MNIST run (all of MNIST's official train and test
images, transductive; a small dense model) saved by `python -m core run` and opened through the Runs page.
The page helpers and the slider measurement are bench/sessions.py's.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import sessions as browser
from bench.common import PRESETS, REPO, Settings, Table, progress, with_sections
from core.config import ExperimentConfig

FIRST_VISIT_TARGET_S = 1.5
FIRST_PROGRESS_TARGET_S = 2.0
SLIDER_P90_TARGET_MS = 150
DRAG_P90_TARGET_MS = 50
FIRST_UMAP_TARGET_S = 15.0
ETA_TOLERANCE = 0.25  # the ETA at the end of epoch 1 counts as sensible within ±25 % (or ±2 s) of the time left
PROGRESS = re.compile(r"Epoch (\d+)/(\d+) · batch \d+/\d+ · .* · (\d+:\d\d) elapsed · ETA (\d+:\d\d|…)")
MNIST_RUN = "mnist-70k"


def mnist_config(limit: int | None) -> ExperimentConfig:
    """All 70,000 MNIST images (train and test splits), trained on and scored; 9s are the anomalies."""
    preset = ExperimentConfig.load(PRESETS / "shoe_among_digits.json")
    return with_sections(
        preset.replace(name="mnist-70k-transductive"),
        {
            "data": {
                "normal_classes": list(range(9)),
                "anomaly_classes": [9],
                "inject": None,
                "protocol": "transductive",
                "split": "all",
                "limit": limit,
            },
            "model": {"kind": "dense", "hidden": [64], "latent_dim": 16},
            "train": {"loss": "mse", "epochs": 1, "validation_fraction": 0.0},
            "score": {"error": "mse", "baselines": []},
            "threshold": {"method": "quantile", "q": 0.99},
        },
    )


def save_mnist_run(runs_dir: Path, data_dir: Path, limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist.json"
        mnist_config(limit).save(path)
        command = [sys.executable, "-m", "core", "run", str(path), "--out", str(runs_dir / MNIST_RUN)]
        done = subprocess.run(command + ["--data-dir", str(data_dir)], cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"python -m core run failed: {done.stderr[-2000:]}")


@dataclass
class Training:
    first_progress_s: float = float("nan")
    eta_s: float | None = None  # the ETA shown once epoch 1 had ended
    elapsed_s: float | None = None  # the elapsed time shown beside it
    training_s: float = float("nan")  # the Training time card: the time actually taken

    @property
    def remaining_s(self) -> float | None:
        return None if self.elapsed_s is None else self.training_s - self.elapsed_s


@dataclass
class Latencies:
    first_visit_s: list[float] = field(default_factory=list)
    training: dict[str, Training] = field(default_factory=dict)
    slider: dict[str, browser.Moves] = field(default_factory=dict)
    drag_ms: dict[str, list[float]] = field(default_factory=dict)
    drag_unanswered: dict[str, int] = field(default_factory=dict)
    first_umap_s: float | None = None
    server_age_s: float | None = None  # how long the server had run when UMAP was chosen
    scored: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def first_visit(url: str) -> float:
    """A fresh server: Home's title painted, then the sidebar's Train link → Train's title and form painted."""
    async with browser.chromium() as chromium:
        page = await browser.new_page(chromium)
        await page.goto(url)
        await browser.visible(page.get_by_role("heading", name="Anomaly Studio", exact=True))
        started = time.perf_counter()
        await page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
        await browser.visible(page.get_by_role("heading", name="Train", exact=True))
        await browser.visible(page.get_by_role("button", name="Train", exact=True))
        return time.perf_counter() - started


async def train(page, epochs: int) -> Training:
    """Press Train; time the first progress text; read the ETA once epoch 1 has ended; wait for the model."""
    found = Training()
    await browser.set_epochs(page, epochs)
    await browser.idle(page)
    text = page.get_by_text(PROGRESS)
    stop = page.get_by_role("button", name="Stop training")
    model = page.get_by_role("heading", name="Current model")
    started = time.perf_counter()
    await page.get_by_role("button", name="Train", exact=True).click()
    await browser.visible(stop.or_(text), browser.WAIT)  # training has started (a model shown before may linger)
    deadline = time.monotonic() + browser.TRAINING_WAIT / 1000
    while await stop.count() or not await model.count():
        if time.monotonic() > deadline:
            raise TimeoutError("training did not end")
        shown = None
        if await text.count():
            if found.first_progress_s != found.first_progress_s:  # nan: the first progress text seen
                found.first_progress_s = time.perf_counter() - started
            try:
                shown = PROGRESS.search(await text.first.inner_text(timeout=1000))
            except Exception:  # the live view is redrawn under us; read it again
                shown = None
        if shown and found.eta_s is None and int(shown.group(1)) >= 2 and shown.group(4) != "…":
            found.eta_s = browser.seconds_of(shown.group(4))
            found.elapsed_s = browser.seconds_of(shown.group(3))
        await asyncio.sleep(0.02)
    await browser.visible(browser.metric(page, "Training time"))
    found.training_s = browser.seconds_of(await browser.metric(page, "Training time").inner_text())
    await browser.idle(page)
    return found


async def slider(page, moves: int) -> browser.Moves:
    await browser.open_page(page, "Threshold", "Threshold")
    await browser.visible(page.get_by_test_id("thresholdHistogram"))
    await browser.idle(page)
    found = browser.Moves()
    await browser.move_slider(page, moves, found)
    return found


# Once the line stands somewhere else than `before`: ms from the last pointer event to the frame after the redraw.
DRAGGED = f"""
([before]) => {{
  const root = ({browser.HISTOGRAM_ROOT})();
  if (!root || Number(root.dataset.value) === before) return false;
  return performance.now() - window.__bench.move;
}}
"""


async def drag(page, moves: int) -> tuple[list[float], int]:
    """Hold the threshold line and sweep the pointer to and fro over the middle 80 % of the plot, `moves` pointer
    moves; each timed from the pointer event to the frame after the line and cards were redrawn (no server
    involved: the release at the end sends the value to Python once). Returns (times in ms, moves not answered)."""
    plot = await page.get_by_test_id("thresholdHistogram").locator(".plot").bounding_box()
    handle = await page.get_by_test_id("thresholdHistogram").locator(".handle").bounding_box()
    y = handle["y"] + handle["height"] / 2
    sweep = [0.1 + 0.8 * i / 39 for i in range(40)]
    positions = sweep + sweep[-2:0:-1]
    times, unanswered = [], 0
    await page.mouse.move(handle["x"] + handle["width"] / 2, y)
    await page.mouse.down()
    for done in range(moves):
        before = await page.evaluate(browser.THRESHOLD_LINE)
        await page.mouse.move(plot["x"] + positions[done % len(positions)] * plot["width"], y)
        try:
            answered = await page.wait_for_function(DRAGGED, arg=[before], polling="raf", timeout=browser.MOVE_WAIT)
        except Exception:
            unanswered += 1
            continue
        times.append(await answered.json_value())
    await page.mouse.up()
    await browser.idle(page)
    return times, unanswered


async def first_umap(page) -> float:
    """Latent map → UMAP: seconds from the click to the map's caption ("UMAP of the …") painted."""
    await browser.open_page(page, "Latent map", "Latent map")
    await browser.idle(page)
    started = time.perf_counter()
    await page.get_by_text(re.compile(r"^UMAP")).first.click()
    await browser.visible(page.get_by_text(re.compile(r"^UMAP of the \d+-number codes")), browser.TRAINING_WAIT)
    return time.perf_counter() - started


async def open_run(page, url: str, name: str) -> None:
    await page.goto(url)
    await browser.visible(page.get_by_role("heading", name="Anomaly Studio", exact=True))
    await browser.open_page(page, "Runs", "Runs")
    await page.get_by_test_id("stSelectbox").first.click()
    await page.get_by_role("option", name=name).click()
    await page.get_by_test_id("stBaseButton-primary").filter(has_text="Open").click()
    await browser.visible(page.get_by_text("is open: every page works from it"), browser.TRAINING_WAIT)


async def measure(url: str, moves: int, epochs: dict[str, int], found: Latencies, started: float) -> None:
    async with browser.chromium() as chromium:
        page = await browser.new_page(chromium)
        progress("latency: digits demo")
        await browser.open_demo(page, url)
        found.training["digits"] = await train(page, epochs["digits"])
        found.slider["digits"] = await slider(page, moves)
        found.drag_ms["digits"], found.drag_unanswered["digits"] = await drag(page, moves)
        progress("latency: first UMAP map")
        found.server_age_s = time.perf_counter() - started
        found.first_umap_s = await first_umap(page)
        found.errors += await browser.errors_on(page)
        await page.context.close()

        progress("latency: MNIST run")
        page = await browser.new_page(chromium)
        await open_run(page, url, MNIST_RUN)
        found.slider["mnist"] = await slider(page, moves)
        found.drag_ms["mnist"], found.drag_unanswered["mnist"] = await drag(page, moves)
        scored = await page.get_by_text(re.compile(r"[\d,]+ scored samples")).first.inner_text()
        found.scored["mnist"] = int(re.search(r"([\d,]+) scored samples", scored).group(1).replace(",", ""))
        await browser.open_page(page, "Train", "Train")
        await browser.visible(page.get_by_role("button", name="Train", exact=True))
        found.training["mnist"] = await train(page, epochs["mnist"])
        found.errors += await browser.errors_on(page)
        await page.context.close()


def run_latency(data_dir: Path, quick: bool) -> Latencies:
    found = Latencies()
    for _ in range(1 if quick else 3):
        progress("latency: first visit to Train on a fresh server")
        with browser.server(data_dir) as srv:
            found.first_visit_s.append(asyncio.run(first_visit(srv.url)))
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        runs = Path(folder) / "runs"
        runs.mkdir()
        progress("latency: saving the MNIST run with python -m core run")
        save_mnist_run(runs, data_dir, 3000 if quick else None)
        started = time.perf_counter()
        with browser.server(data_dir, runs) as srv:
            epochs = {"digits": 5, "mnist": 2} if quick else {"digits": 20, "mnist": 3}
            asyncio.run(measure(srv.url, 20 if quick else 100, epochs, found, started))
            tracebacks = srv.tracebacks()
    if tracebacks:
        found.errors.append(f"{tracebacks} traceback(s) in the server log")
    return found


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def eta_sensible(training: Training) -> bool:
    remaining = training.remaining_s
    if training.eta_s is None or remaining is None:
        return False
    return abs(training.eta_s - remaining) <= max(2.0, ETA_TOLERANCE * remaining)


def latency_table(found: Latencies) -> Table:
    mnist = f"MNIST, {found.scored.get('mnist', 0):,} samples"
    names = {"digits": "digits demo", "mnist": mnist}
    visit = sorted(found.first_visit_s)[len(found.first_visit_s) // 2]
    rows = [
        [
            "(a) first visit to Train after Home painted: sidebar click → title and form painted (fresh server, "
            f"median of {len(found.first_visit_s)}: {', '.join(f'{s:.2f}' for s in found.first_visit_s)} s)",
            "default config (digits)",
            f"{visit:.2f} s",
            f"< {FIRST_VISIT_TARGET_S} s",
            met(visit < FIRST_VISIT_TARGET_S),
        ]
    ]
    for key, training in found.training.items():
        rows.append(
            [
                "(b) Train click → first progress text (Epoch 1/N · batch …) visible",
                names[key],
                f"{training.first_progress_s:.2f} s"
                if training.first_progress_s == training.first_progress_s
                else "not seen",
                f"< {FIRST_PROGRESS_TARGET_S} s",
                met(training.first_progress_s < FIRST_PROGRESS_TARGET_S),
            ]
        )
    for key, moves in found.slider.items():
        if not moves.key_ms:
            rows.append(
                ["(c) arrow key → line and Flagged card redrawn, p90", names[key], "no move answered", "", "**no**"]
            )
            continue
        p90 = browser.percentile(moves.key_ms, 0.9)
        server_ms = [ms for ms in moves.request_ms if ms is not None]
        server_p90 = browser.percentile(server_ms, 0.9) if server_ms else float("nan")
        lost = moves.unanswered
        rows.append(
            [
                f"(c) arrow key on the threshold line → line and Flagged card redrawn, p90 ({len(moves.key_ms)} "
                f"presses, {lost} lost; p50 {browser.percentile(moves.key_ms, 0.5):.0f} ms; the move sent → "
                f"Python's answer painted (Exact value box): p90 {server_p90:.0f} ms)",
                names[key],
                f"{p90:.0f} ms",
                f"< {SLIDER_P90_TARGET_MS} ms, none lost",
                met(p90 < SLIDER_P90_TARGET_MS and lost == 0),
            ]
        )
    for key, times in found.drag_ms.items():
        lost = found.drag_unanswered.get(key, 0)
        p90 = browser.percentile(times, 0.9) if times else float("nan")
        rows.append(
            [
                f"(e) drag the threshold line: pointer event → line and cards redrawn (next frame), p90 ({len(times)} "
                f"moves, {lost} unanswered; p50 {browser.percentile(times, 0.5) if times else float('nan'):.0f} ms)",
                names[key],
                f"{p90:.0f} ms",
                f"< {DRAG_P90_TARGET_MS} ms",
                met(p90 < DRAG_P90_TARGET_MS and lost == 0),
            ]
        )
    if found.first_umap_s is not None:
        rows.append(
            [
                "(f) first UMAP map of the server: Latent map's UMAP clicked → map painted (server up "
                f"{found.server_age_s:.0f} s by then; UMAP's compile starts in the background once a model exists)",
                "digits demo",
                f"{found.first_umap_s:.1f} s",
                f"< {FIRST_UMAP_TARGET_S:.0f} s",
                met(found.first_umap_s < FIRST_UMAP_TARGET_S),
            ]
        )
    for key, training in found.training.items():
        epochs = "ETA shown once epoch 1 had ended vs. the training time actually left"
        if training.eta_s is None:
            value = "no ETA seen after epoch 1"
        else:
            value = f"ETA {training.eta_s:.0f} s vs. {training.remaining_s:.0f} s left (trained {training.training_s:.0f} s)"
        rows.append(
            [f"(d) {epochs}", names[key], value, f"within ±{ETA_TOLERANCE:.0%} or ±2 s", met(eta_sensible(training))]
        )
    notes = [
        "(a): a fresh server per repeat; the click follows the painted Home title at once, while the server's "
        "warm-up (started by its first script run: the default dataset, TensorFlow, a first training) may still run.",
        "(b), (d): the digits demo trained for 20 epochs (conv, batch 16); the MNIST run (dense 784-64-16, MSE, "
        "batch 256, no validation split) retrained from the Train page for 3 epochs after opening it on Runs. "
        "(d) reads the live progress text (m:ss, whole seconds) at the first redraw showing epoch 2, and compares "
        "its ETA with the Training time card minus the elapsed time shown beside the ETA.",
        "(c): one ArrowLeft/ArrowRight on the focused threshold line, timed to the frame where the line and the Flagged "
        "card show the new value (in the browser); then a wait until Python has taken the move (sent once the keys "
        "rest 350 ms) before the next press. (e): the pointer held on the line, one mouse move per frame.",
    ]
    if found.errors:
        notes.append("Errors seen: " + "; ".join(sorted(set(found.errors)))[:800])
    return Table("Responsiveness in the browser", ["measurement", "data", "value", "target", "met"], rows, notes)


def tables(settings: Settings) -> Iterator[Table]:
    if not browser.browser_available():
        yield Table(
            "Responsiveness in the browser",
            ["measurement", "value"],
            [["skipped", f"no playwright or {browser.CHROMIUM}"]],
        )
        return
    yield latency_table(run_latency(settings.data_dir, settings.quick))
