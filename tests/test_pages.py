"""Every page under Streamlit's AppTest, started from app.py as `streamlit run` does.

The digits flow end to end (scenario → training → threshold → flagged → saved run), stopping a training,
what each page shows before anything is trained, and bad data shown as st.error rather than a traceback.
"""

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core import fields
from core.config import ExperimentConfig
from core.data import builtin_kind
from core.fields import FIELDS

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PRESETS = sorted((ROOT / "presets").glob("*.json"))


@pytest.fixture(autouse=True)
def navigation_runs_app_py(monkeypatch):
    """Make every AppTest run go through app.py.

    Before each run AppTest resets PagesManager.uses_pages_directory, and with a pages/ folder beside app.py
    the next run then executes pages/*.py alone, the pre-st.navigation way, skipping app.py. The real server
    leaves that mode for good once app.py has called st.navigation; this keeps AppTest there too.
    """
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def start_app(session: str = None, data_dir=None) -> AppTest:
    """A new browser session; `session` is the ?session= id of a workspace to attach to, as a reload does."""
    at = AppTest.from_file(APP, default_timeout=120)
    if session is not None:
        at.query_params["session"] = session
    if data_dir is not None:
        os.environ["ANOMALY_STUDIO_DATA"] = str(data_dir)
    try:
        at.run()
    finally:
        os.environ.pop("ANOMALY_STUDIO_DATA", None)
    assert not at.exception, at.exception[0].message
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception[0].message
    return at


def session_id(at: AppTest) -> str:
    return at.session_state["workspace"]


def workspace(at: AppTest):
    from ui.state import _registry

    return _registry()[0][session_id(at)]


def button(at: AppTest, label: str):
    [match] = [b for b in at.button if b.label == label]
    return match


def labelled(widgets, label: str):
    [match] = [w for w in widgets if w.label == label]
    return match


def metric(at: AppTest, label: str) -> str:
    return labelled(at.metric, label).value


def flagged_count(at: AppTest) -> int:
    """The flagged count the Threshold page computed at the threshold in force, from its link to the Flagged page
    (its cards are drawn in the browser, where AppTest does not look)."""
    [link] = [e.proto.label for e in at.get("page_link") if "flagged" in e.proto.label]
    return int(re.search(r"([\d,]+) flagged (samples|timestamps)", link).group(1).replace(",", ""))


def histogram_data(at: AppTest) -> dict:
    """The plain (JSON) part of what the Threshold page sent its histogram component: value, scale, step, ..."""
    [component] = [e for e in at.get("bidi_component") if "threshold_histogram" in e.proto.component_name]
    return json.loads(component.proto.mixed.json)


def wait_for_training(at: AppTest, timeout: float = 300) -> None:
    """Rerun the page, as the live fragment does, until the background job has ended and been collected."""
    deadline = time.monotonic() + timeout
    while workspace(at).job is not None:
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception[0].message


def train(at: AppTest, epochs: int, **settings) -> None:
    """Press Train with `epochs` (and other number settings, by label), and wait for the model."""
    go(at, "pages/train.py")
    labelled(at.number_input, "Epochs").set_value(epochs)
    for label, value in settings.items():
        labelled(at.number_input, label).set_value(value)
    button(at, "Train").click().run()
    assert not at.error, at.error[0].value
    wait_for_training(at)
    assert not at.error, at.error[0].value
    assert metric(at, "Epochs run") == str(epochs)


def apply_scenario(at: AppTest, **changes) -> AppTest:
    """Set Dataset-page form widgets by label (multiselects, number inputs, select boxes), then Apply."""
    go(at, "pages/dataset.py")
    for label, value in changes.items():
        kinds = [at.multiselect, at.number_input, at.selectbox]
        [widget] = [w for widgets in kinds for w in widgets if w.label == label]
        widget.set_value(value)
    button(at, "Apply").click().run()
    assert not at.exception, at.exception[0].message
    assert not at.error, at.error[0].value
    return at


# ------------------------------------------------------------------------------------------ home


@pytest.mark.parametrize("warm_up", ["0", "1"])
def test_home_paints_without_tensorflow_then_loads_it_in_the_background(warm_up):
    """TensorFlow takes seconds to import: the home page never waits for it, then warms it up for Train."""
    script = (
        "import sys, threading\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.title[0].value == 'Anomaly Studio'\n"
        "[warm_up] = [t for t in threading.enumerate() if t.name == 'anomaly-studio-warm-up'] or [None]\n"
        "if warm_up is None:\n"
        "    loaded = sorted(name for name in ('tensorflow', 'keras') if name in sys.modules)\n"
        "    assert not loaded, f'the home page imported {loaded}'\n"
        "else:\n"
        "    warm_up.join(120)\n"
        "    assert 'tensorflow' in sys.modules and 'core.jobs' in sys.modules\n"
        "print('warmed' if warm_up else 'cold')\n"
    )
    env = {**os.environ, "ANOMALY_STUDIO_WARM_UP": warm_up}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().endswith("warmed" if warm_up == "1" else "cold")


def test_home_has_a_card_per_preset_that_opens_train_with_its_settings():
    at = start_app()
    assert at.title[0].value == "Anomaly Studio"
    cards = [b for b in at.button if b.label == "Open demo"]
    assert len(cards) == len(PRESETS) > 0
    [quick_demo] = [b for b in cards if b.key == "preset:digits_quick"]
    quick_demo.click().run()
    assert not at.exception
    assert at.title[0].value == "Train"
    config = workspace(at).config
    assert config.name == "digits-quick-demo"
    assert labelled(at.number_input, "Epochs").value == config.train.epochs
    assert labelled(at.text_input, "Convolution filters").value == ", ".join(map(str, config.model.filters))


def test_home_cards_name_classes_as_the_pages_do():
    at = start_app()
    captions = " | ".join(caption.value for caption in at.caption)
    assert "ECG5000 heartbeats · normal: normal · anomalies: abnormal ·" in captions
    assert "Fashion-MNIST · normal: T-shirt/top · anomalies: every other class ·" in captions
    assert "Digits (8×8, offline) · normal: 0, 1, 2, 3, 4 · anomalies: 5, 6, 7, 8, 9 ·" in captions
    assert "+ 1 Fashion-MNIST class Ankle boot injected" in captions


def test_home_links_the_pages_beyond_the_four_steps():
    at = start_app()
    links = {link.label for link in at.get("page_link")}
    assert {"Latent map of the codes", "Score a sample of yours", "Compare saved runs"} <= links


def shown_settings(at: AppTest) -> dict:
    """What the Dataset and Train widgets show, by label."""
    shown = {}
    for page in ("pages/dataset.py", "pages/train.py"):
        go(at, page)
        for widgets in (at.number_input, at.selectbox, at.text_input, at.multiselect):
            shown.update({w.label: w.value for w in widgets})
    return shown


@pytest.mark.parametrize("preset", PRESETS, ids=[path.stem for path in PRESETS])
def test_settings_pages_show_and_keep_a_presets_config(preset, request):
    """The Dataset and Train widgets start from the preset, show exactly its values, and leave it as it is."""
    expected = ExperimentConfig.load(preset)
    needs_data = expected.data.dataset != "digits" or expected.data.inject is not None
    at = start_app(data_dir=request.getfixturevalue("shared_data_dir") if needs_data else None)
    [card] = [b for b in at.button if b.key == f"preset:{preset.stem}"]
    card.click().run()
    shown = shown_settings(at)
    assert not at.error, at.error[0].value
    assert workspace(at).config == expected
    for path in (
        "data.protocol",
        "data.split",
        "data.test_fraction",
        "data.limit",
        "data.contamination",
        "model.kind",
        "model.latent_dim",
        "model.kernel_size",
        "train.loss",
        "train.epochs",
        "train.batch_size",
        "train.learning_rate",
        "train.noise",
        "train.validation_fraction",
        "train.early_stopping_patience",
        "score.error",
        "score.density_components",
        "seed",
    ):
        if FIELDS[path].applies(builtin_kind(expected.data.dataset)):  # time series show no class settings
            value = fields.get(expected, path)
            assert shown[FIELDS[path].label] == (None if value == "auto" else value), path  # empty: auto
    hidden = expected.model.hidden
    assert shown["Hidden layers"] == (hidden if isinstance(hidden, str) else ", ".join(map(str, hidden)))


def test_every_widget_limit_is_the_limit_validation_enforces():
    """Walk the field descriptions: each settings widget shows the same limits, options and label."""
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=1)
    go(at, "pages/threshold.py")
    seen = {}
    for page in ("pages/dataset.py", "pages/train.py", "pages/threshold.py"):
        go(at, page)
        for method in ["quantile", "mean_std", "contamination"] if page.endswith("threshold.py") else [None]:
            if method:
                labelled(at.selectbox, FIELDS["threshold.method"].label).set_value(method).run()
            for widget in at.number_input:
                seen[widget.label] = widget
            for widget in at.selectbox:
                seen[widget.label] = widget
    checked = 0
    for path, spec in FIELDS.items():
        widget = seen.get(spec.label)
        if widget is None:
            continue
        checked += 1
        if spec.type in ("int", "float"):
            assert (widget.min, widget.max) == (spec.low, spec.high), path
        elif spec.type == "choice":
            assert set(widget.options) <= {spec.label_of(c) for c in spec.choices}, path
    assert checked >= 20, f"only {checked} settings widgets found"


def test_an_invalid_setting_is_named_and_train_stays():
    at = go(start_app(), "pages/train.py")
    labelled(at.text_input, "Hidden layers").set_value("64, many")
    button(at, "Train").click().run()
    assert "Hidden layers" in at.error[0].value
    assert button(at, "Train") and workspace(at).job is None
    labelled(at.text_input, "Hidden layers").set_value("64")
    labelled(at.number_input, "Early-stopping patience").set_value(3)
    labelled(at.number_input, "Validation fraction").set_value(0.0)
    button(at, "Train").click().run()
    assert "Early-stopping patience" in at.error[0].value
    assert button(at, "Train")


# ------------------------------------------------------------------------------------------ nothing trained yet


@pytest.mark.parametrize("page", ["pages/threshold.py", "pages/flagged.py"])
def test_result_pages_point_to_train_before_anything_is_trained(page):
    at = go(start_app(), page)
    assert "Nothing trained yet" in at.info[0].value
    assert not at.get("plotly_chart")


def test_runs_page_without_saved_runs():
    at = go(start_app(), "pages/runs.py")
    assert "No saved runs yet" in at.info[0].value


# ------------------------------------------------------------------------------------------ the digits flow


def test_digits_flow_from_scenario_to_saved_run():
    at = apply_scenario(start_app(), **{"Normal classes": [0, 1, 2, 3, 4], "Anomaly classes": [7]})
    counts = at.dataframe[0].value.set_index("samples")
    assert counts.loc["normal", "train"] > 0 and counts.loc["anomaly", "scored"] > 0
    assert workspace(at).config.data.anomaly_classes == [7]
    assert at.get("plotly_chart"), "the sample preview is missing"

    go(at, "pages/train.py")
    labelled(at.number_input, "Batch size").set_value(64)
    labelled(at.number_input, "Epochs").set_value(2)
    button(at, "Train").click().run()  # the live view may watch a short training to its end within this run
    assert workspace(at).job is not None or workspace(at).result is not None, "Train started nothing"
    if workspace(at).training:
        assert not [b for b in at.button if b.label == "Train"], "a second Train click must be impossible meanwhile"
    wait_for_training(at)
    assert metric(at, "Epochs run") == "2"
    result = workspace(at).result
    scores = result.scores
    assert len(scores) == len(result.data.x_score)

    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 3  # confusion matrix, ROC, PR (the histogram is the component)
    assert histogram_data(at)["labelled"] is True
    counts_seen = []
    for quantile in (0.5, 0.9):
        at.number_input(key="threshold:typed").set_value(float(np.quantile(scores, quantile))).run()
        assert not at.exception
        counts_seen.append(flagged_count(at))
        assert counts_seen[-1] == int((scores > workspace(at).result.threshold.value).sum())
    assert counts_seen[0] > counts_seen[1], "moving the threshold up must flag fewer samples"
    assert at.selectbox(key="threshold:method").value == "value"

    at.selectbox(key="threshold:method").set_value("quantile").run()
    q = workspace(at).config.threshold.q
    assert at.number_input(key="threshold:typed").value == pytest.approx(float(np.quantile(scores, q)))
    assert histogram_data(at)["value"] == pytest.approx(float(np.quantile(scores, q)))
    assert "quantile" in at.info[0].value
    at.number_input(key="threshold:typed").set_value(float(np.quantile(scores, 0.8))).run()
    flagged = flagged_count(at)

    go(at, "pages/flagged.py")
    assert at.caption[0].value.startswith(f"{flagged:,} of {len(scores):,} samples")
    assert len(at.get("plotly_chart")) == min(12, flagged) + 1  # the cards and the error maps' colour bar
    assert at.number_input(key="flagged_page").max == -(-flagged // 12)

    button(at, "Save run").click().run()
    assert [b for b in at.button if b.label == "Saved" and b.disabled], "saving the same run twice must be impossible"

    go(at, "pages/runs.py")
    [run_name] = at.selectbox[0].options
    at.selectbox[0].set_value(run_name).run()
    button(at, "Open").click().run()
    assert "is open" in at.success[0].value
    assert "AUROC" in at.sidebar.markdown[0].value
    opened = workspace(at).result
    assert opened is not result
    np.testing.assert_allclose(opened.scores, scores)
    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 3
    assert flagged_count(at) == flagged, "the reopened run must show the threshold it was saved with"

    go(at, "pages/runs.py")
    at.selectbox[0].set_value(run_name).run()
    button(at, "Delete").click().run()
    assert "for good" in at.warning[0].value
    button(at, "Yes, delete it").click().run()
    assert "No saved runs yet" in at.info[0].value
    go(at, "pages/train.py")
    assert button(at, "Save run"), "after deleting the open run, the model in memory can be saved again"

    other_session = go(start_app(), "pages/threshold.py")
    assert "Nothing trained yet" in other_session.info[0].value


def test_a_saved_run_keeps_the_threshold_on_screen_and_resaves_it():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=2)
    training_threshold = workspace(at).result.threshold.value
    go(at, "pages/threshold.py")
    at.selectbox(key="threshold:method").set_value("best_f1").run()
    chosen, flagged = workspace(at).result.threshold, flagged_count(at)
    assert chosen.value != training_threshold
    button(at, "Save run").click().run()
    assert not at.error, at.error[0].value
    folder = workspace(at).saved_run
    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    assert metrics["n_flagged"] == flagged and metrics["threshold"] == pytest.approx(chosen.value)

    at.selectbox(key="threshold:method").set_value("quantile").run()
    button(at, "Save threshold").click().run()
    assert not at.error, at.error[0].value
    requantiled = workspace(at).result.threshold
    go(at, "pages/train.py")
    assert f"{requantiled.value:.4g}" in " ".join(c.value for c in at.caption)

    go(at, "pages/runs.py")
    assert len(at.selectbox[0].options) == 1, "re-saving the threshold must update the run, not add one"
    at.selectbox[0].set_value(at.selectbox[0].options[0]).run()
    button(at, "Open").click().run()
    reopened = workspace(at).result
    assert reopened.threshold.method == "quantile"
    assert reopened.threshold.value == pytest.approx(requantiled.value)
    go(at, "pages/threshold.py")
    assert at.selectbox(key="threshold:method").value == "quantile"


def test_a_reload_finds_the_session_and_its_running_training():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    labelled(at.number_input, "Epochs").set_value(300)
    button(at, "Train").click().run()
    job = workspace(at).job
    assert job is not None and job.running

    reloaded = start_app(session=session_id(at))
    assert workspace(reloaded) is workspace(at)
    assert workspace(reloaded).config.name == "digits-quick-demo"
    go(reloaded, "pages/train.py")
    assert button(reloaded, "Stop training"), "a reloaded page must show the training still running"
    go(reloaded, "pages/threshold.py")
    assert "is training" in reloaded.info[0].value
    go(reloaded, "pages/train.py")
    button(reloaded, "Stop training").click().run()
    wait_for_training(reloaded, timeout=120)
    assert workspace(reloaded).result.history.stopped == "stopped"
    assert "Epochs run" in [m.label for m in reloaded.metric]


def test_a_threshold_can_be_typed_exactly_and_the_line_follows():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=1)
    go(at, "pages/threshold.py")
    scores = workspace(at).result.scores
    exact = float(np.sort(scores)[-7]) - 1e-7  # between two scores: exactly 7 above it
    at.number_input(key="threshold:typed").set_value(exact).run()
    assert workspace(at).result.threshold.value == pytest.approx(exact, abs=1e-9)
    assert flagged_count(at) == 7
    assert histogram_data(at)["value"] == pytest.approx(exact, abs=1e-9)  # the line drawn where the box says


def test_two_tabs_of_one_session_show_the_same_threshold():
    first = start_app()
    [card] = [b for b in first.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(first, epochs=1)
    go(first, "pages/threshold.py")
    second = go(start_app(session=session_id(first)), "pages/threshold.py")
    first.selectbox(key="threshold:method").set_value("best_f1").run()
    second.run()
    assert second.selectbox(key="threshold:method").value == "best_f1"
    assert second.number_input(key="threshold:typed").value == pytest.approx(workspace(first).result.threshold.value)
    assert histogram_data(second)["value"] == pytest.approx(workspace(first).result.threshold.value)
    assert flagged_count(second) == flagged_count(first)


def test_a_training_nobody_watches_any_more_is_stopped_and_kept():
    """A closed tab stops touching its workspace; the next session's visit stops that training, model kept."""
    from ui import state

    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    labelled(at.number_input, "Epochs").set_value(300)
    button(at, "Train").click().run()
    abandoned = workspace(at)
    deadline = time.monotonic() + 60
    while not abandoned.job.snapshot().history.loss:
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.2)
    abandoned.touched -= state.ORPHAN_SECONDS + 1  # what a closed tab leaves behind
    start_app()
    abandoned.job.join(timeout=60)
    assert not abandoned.job.running
    reopened = start_app(session=abandoned.id)
    assert workspace(reopened).result.history.stopped == "stopped"


def test_a_restarted_server_restores_the_settings(tmp_path):
    from ui.state import _registry

    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:ecg5000"]
    card.click().run()
    expected = workspace(at).config
    _registry()[0].clear()  # what a server restart leaves: nothing in memory
    reloaded = start_app(session=session_id(at))
    assert workspace(reloaded).config == expected


def test_stop_keeps_the_model_trained_so_far():
    at = go(start_app(), "pages/train.py")
    labelled(at.number_input, "Epochs").set_value(500)
    button(at, "Train").click().run()
    assert workspace(at).job.config.train.epochs == 500
    deadline = time.monotonic() + 120
    while not workspace(at).job.snapshot().history.loss:
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.5)
    at.run()
    button(at, "Stop training").click().run()
    wait_for_training(at, timeout=120)
    result = workspace(at).result
    assert result.history.stopped == "stopped"
    assert 1 <= result.history.epochs_run < 500
    assert any("stopped by you" in c.value for c in at.caption)
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")


def test_a_new_dataset_is_not_shown_with_the_old_models_summary():
    at = go(start_app(), "pages/train.py")
    train(at, epochs=1)
    go(at, "pages/train.py")
    assert not any("trained on other data" in info.value for info in at.info)
    apply_scenario(at, **{"Normal classes": [1, 2], "Anomaly classes": [9]})
    go(at, "pages/train.py")
    assert any("trained on other data" in info.value for info in at.info)


# ------------------------------------------------------------------------------------------ user files and errors


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    go(at, "pages/dataset.py")
    at.segmented_control[0].set_value("File").run()
    at.file_uploader(key="dataset_upload").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception, at.exception[0].message
    return at


def test_bad_upload_is_named_as_the_user_knows_it_and_removed():
    from ui.data import uploads_dir

    at = upload(start_app(), "broken.csv", b"label,a,b\nx,1,2\n")
    assert at.error, "a bad upload must be shown with st.error"
    message = at.error[0].value
    assert message.startswith("broken.csv ") and "uploads" not in message, message
    assert not list(uploads_dir().glob("broken*")), "a rejected upload must not stay on the server"
    assert workspace(at).config.data.dataset == "digits", "a rejected upload must not become the dataset"


def test_missing_file_shows_an_error():
    at = go(start_app(), "pages/dataset.py")
    at.segmented_control[0].set_value("File").run()
    labelled(at.text_input, "File or image folder on the server").set_value("/nowhere/data.npz").run()
    assert not at.exception
    assert "/nowhere/data.npz" in at.error[0].value


def test_uploaded_npz_goes_through_every_page():
    rng = np.random.default_rng(0)
    normal = rng.random((120, 10, 10), dtype=np.float32) * 0.2
    odd = 0.8 + rng.random((6, 10, 10), dtype=np.float32) * 0.2
    buffer = io.BytesIO()
    np.savez(buffer, x=np.concatenate([normal, odd]), y=np.r_[np.zeros(120, int), np.ones(6, int)])
    at = upload(start_app(), "blobs.npz", buffer.getvalue())
    assert not at.error, at.error[0].value
    apply_scenario(at, **{"Anomaly classes": [1]})
    assert at.dataframe[0].value.set_index("samples").loc["anomaly", "scored"] > 0
    train(at, epochs=2)
    go(at, "pages/threshold.py")
    assert flagged_count(at) > 0
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")


def test_an_uploaded_series_shows_the_settings_in_force():
    """After an upload the widgets show what the counts were computed with, and series get a series model."""
    rng = np.random.default_rng(1)
    rows = np.sin(np.linspace(0, 6, 40))[None, :] + 0.05 * rng.standard_normal((150, 40))
    text = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows).encode()
    at = upload(start_app(), "waves.csv", text)
    assert not at.error, at.error[0].value
    config = workspace(at).config
    assert config.model.kind in FIELDS["model.kind"].choices_for("series")
    assert labelled(at.selectbox, "Protocol").value == config.data.protocol
    assert labelled(at.number_input, "Held-out fraction").value == config.data.test_fraction
    apply_scenario(at, **{"Protocol": "transductive", "Held-out fraction": 0.3})
    go(at, "pages/home.py")
    go(at, "pages/dataset.py")
    assert labelled(at.selectbox, "Protocol").value == "transductive" == workspace(at).config.data.protocol
    assert labelled(at.number_input, "Held-out fraction").value == 0.3


# ------------------------------------------------------------------------------------------ the real datasets


@pytest.mark.slow
@pytest.mark.parametrize("dataset, kind", [("mnist", "conv"), ("fashion_mnist", "dense"), ("ecg5000", "conv1d")])
def test_real_dataset_goes_through_every_page(shared_data_dir, dataset, kind):
    at = go(start_app(data_dir=shared_data_dir), "pages/dataset.py")
    labelled(at.selectbox, "Dataset").set_value(dataset)
    at.run()
    apply_scenario(at, **{"Anomaly classes": [0], "Sample limit": 400})
    assert at.get("plotly_chart"), "the sample preview is missing"
    go(at, "pages/train.py")
    labelled(at.selectbox, "Architecture").set_value(kind)
    train(at, epochs=1)
    assert workspace(at).result.data.kind == ("series" if dataset == "ecg5000" else "image")
    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 3  # confusion matrix, ROC, PR (the histogram is the component)
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")


@pytest.mark.slow
def test_the_shoe_demo_with_no_hidden_layers_trains(shared_data_dir):
    at = start_app(data_dir=shared_data_dir)
    [card] = [b for b in at.button if b.key == "preset:shoe_among_digits"]
    card.click().run()
    assert labelled(at.text_input, "Hidden layers").value == ""
    apply_scenario(at, **{"Sample limit": 500})
    train(at, epochs=1)
    assert workspace(at).result.config.model.hidden == []
