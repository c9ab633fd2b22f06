"""Every page under Streamlit's AppTest, started from app.py as `streamlit run` does.

The digits flow end to end (scenario → training → threshold → flagged → saved run), stopping a training,
what each page shows before anything is trained, and bad data shown as st.error rather than a traceback.
"""

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.config import ExperimentConfig

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


def start_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception[0].message
    return at


def button(at: AppTest, label: str):
    [match] = [b for b in at.button if b.label == label]
    return match


def metric(at: AppTest, label: str) -> str:
    [match] = [m for m in at.metric if m.label == label]
    return match.value


def flagged_count(at: AppTest) -> int:
    return int(metric(at, "Flagged").replace(",", ""))


def wait_for_training(at: AppTest, timeout: float = 300) -> None:
    """Rerun the page, as the live fragment does, until the background job has ended and been collected."""
    deadline = time.monotonic() + timeout
    while at.session_state.get("job") is not None:
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception[0].message


def train(at: AppTest, epochs: int) -> None:
    go(at, "pages/train.py")
    at.number_input(key="setting:train.epochs").set_value(epochs).run()
    button(at, "Train").click().run()
    assert not at.error, at.error[0].value
    wait_for_training(at)
    assert not at.error, at.error[0].value
    assert metric(at, "Epochs run") == str(epochs)


# ------------------------------------------------------------------------------------------ home


def test_home_paints_without_tensorflow():
    """TensorFlow takes seconds to import; the home page must not wait for it."""
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.title[0].value == 'Anomaly Studio'\n"
        "loaded = sorted(name for name in ('tensorflow', 'keras') if name in sys.modules)\n"
        "assert not loaded, f'the home page imported {loaded}'\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_home_has_a_card_per_preset_that_opens_train_with_its_settings():
    at = start_app()
    assert at.title[0].value == "Anomaly Studio"
    cards = [b for b in at.button if b.label == "Open demo"]
    assert len(cards) == len(PRESETS) > 0
    [quick_demo] = [b for b in cards if b.key == "preset:digits_quick"]
    quick_demo.click().run()
    assert not at.exception
    assert at.title[0].value == "Train"
    config = at.session_state["config"]
    assert config.name == "digits-quick-demo"
    assert at.number_input(key="setting:train.epochs").value == config.train.epochs
    assert at.text_input(key="setting:model.filters").value == ", ".join(map(str, config.model.filters))


@pytest.mark.parametrize("preset", PRESETS, ids=[path.stem for path in PRESETS])
def test_settings_pages_keep_a_presets_config(preset, request):
    """The Dataset and Train widgets start from the preset and write back exactly what it says."""
    expected = ExperimentConfig.load(preset)
    at = AppTest.from_file(APP, default_timeout=120)
    if expected.data.dataset != "digits" or expected.data.inject is not None:
        at.session_state["data_dir"] = str(request.getfixturevalue("shared_data_dir"))
    at.run()
    [card] = [b for b in at.button if b.key == f"preset:{preset.stem}"]
    card.click().run()
    go(at, "pages/dataset.py")
    assert not at.error, at.error[0].value
    go(at, "pages/train.py")
    go(at, "pages/dataset.py")
    assert at.session_state["config"] == expected


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
    at = go(start_app(), "pages/dataset.py")
    at.multiselect(key="setting:data.normal_classes").set_value([0, 1, 2, 3, 4]).run()
    at.multiselect(key="setting:data.anomaly_classes").set_value([7]).run()
    assert not at.exception and not at.error
    counts = at.dataframe[0].value.set_index("samples")
    assert counts.loc["normal", "train"] > 0 and counts.loc["anomaly", "scored"] > 0
    assert at.session_state["config"].data.anomaly_classes == [7]
    assert at.get("plotly_chart"), "the sample preview is missing"

    go(at, "pages/train.py")
    at.number_input(key="setting:train.batch_size").set_value(64).run()
    at.number_input(key="setting:train.epochs").set_value(2).run()
    button(at, "Train").click().run()
    job = at.session_state["job"]
    assert job is not None
    at.run()
    assert button(at, "Train").disabled, "a second Train click must be impossible while training"
    assert at.session_state["job"] is job or at.session_state["job"] is None
    wait_for_training(at)
    assert metric(at, "Epochs run") == "2"
    result = at.session_state["result"]
    scores = result.scores
    assert len(scores) == len(result.data.x_score)

    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 4  # histogram, confusion matrix, ROC, PR
    counts_seen = []
    for quantile in (0.5, 0.9):
        at.slider(key="setting:threshold.value").set_value(float(np.quantile(scores, quantile))).run()
        assert not at.exception
        counts_seen.append(flagged_count(at))
        assert counts_seen[-1] == int((scores > at.session_state["threshold"].value).sum())
    assert counts_seen[0] > counts_seen[1], "moving the threshold up must flag fewer samples"
    assert at.selectbox(key="setting:threshold.method").value == "value"

    at.selectbox(key="setting:threshold.method").set_value("quantile").run()
    q = at.session_state["config"].threshold.q
    assert at.slider(key="setting:threshold.value").value == pytest.approx(float(np.quantile(scores, q)))
    assert "quantile" in at.info[0].value
    at.slider(key="setting:threshold.value").set_value(float(np.quantile(scores, 0.8))).run()
    flagged = flagged_count(at)

    go(at, "pages/flagged.py")
    assert at.caption[0].value.startswith(f"{flagged:,} of {len(scores):,} samples")
    assert len(at.get("plotly_chart")) == min(12, flagged)
    assert at.number_input(key="flagged_page").max == -(-flagged // 12)

    go(at, "pages/train.py")
    button(at, "Save run").click().run()
    assert "Saved in" in at.success[0].value
    assert button(at, "Save run").disabled, "saving the same run twice must be impossible"

    go(at, "pages/runs.py")
    [run_name] = at.selectbox[0].options
    at.selectbox[0].set_value(run_name).run()
    button(at, "Open").click().run()
    assert "is open" in at.success[0].value
    assert "AUROC" in at.sidebar.markdown[0].value
    opened = at.session_state["result"]
    assert opened is not result
    np.testing.assert_allclose(opened.scores, scores)
    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 4

    go(at, "pages/runs.py")
    at.selectbox[0].set_value(run_name).run()
    button(at, "Delete").click().run()
    assert "for good" in at.warning[0].value
    button(at, "Yes, delete it").click().run()
    assert "No saved runs yet" in at.info[0].value

    other_session = go(start_app(), "pages/threshold.py")
    assert "Nothing trained yet" in other_session.info[0].value


def test_stop_keeps_the_model_trained_so_far():
    at = go(start_app(), "pages/train.py")
    at.number_input(key="setting:train.epochs").set_value(500)
    button(at, "Train").click().run()  # in the same rerun as the edit: the click must still see it
    assert at.session_state["job"].config.train.epochs == 500
    deadline = time.monotonic() + 120
    while not at.session_state["job"].snapshot().history.loss:
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.5)
    at.run()
    button(at, "Stop").click().run()
    wait_for_training(at, timeout=120)
    result = at.session_state["result"]
    assert result.history.stopped == "stopped"
    assert 1 <= result.history.epochs_run < 500
    assert "stopped by you" in at.caption[1].value
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")


# ------------------------------------------------------------------------------------------ user files and errors


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    go(at, "pages/dataset.py")
    at.segmented_control(key="setting:data.source").set_value("File").run()
    at.file_uploader(key="dataset_upload").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception, at.exception[0].message
    return at


def test_bad_upload_shows_what_to_do():
    at = upload(start_app(), "broken.csv", b"label,a,b\nx,1,2\n")
    assert at.error, "a bad upload must be shown with st.error"
    assert "broken" in at.text_input(key="setting:data.path").value


def test_missing_file_shows_an_error():
    at = go(start_app(), "pages/dataset.py")
    at.segmented_control(key="setting:data.source").set_value("File").run()
    at.text_input(key="setting:data.path").set_value("/nowhere/data.npz").run()
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
    at.multiselect(key="setting:data.anomaly_classes").set_value([1]).run()
    assert at.dataframe[0].value.set_index("samples").loc["anomaly", "scored"] > 0
    train(at, epochs=2)
    go(at, "pages/threshold.py")
    assert flagged_count(at) > 0
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")


# ------------------------------------------------------------------------------------------ the real datasets


@pytest.mark.parametrize("dataset, kind", [("mnist", "conv"), ("fashion_mnist", "dense"), ("ecg5000", "conv1d")])
def test_real_dataset_goes_through_every_page(shared_data_dir, dataset, kind):
    at = go(start_app(), "pages/dataset.py")
    at.text_input(key="setting:data_dir").set_value(str(shared_data_dir)).run()
    at.selectbox(key="setting:data.dataset").set_value(dataset).run()
    at.multiselect(key="setting:data.anomaly_classes").set_value([0]).run()
    at.number_input(key="setting:data.limit").set_value(400).run()
    assert not at.error, at.error[0].value
    assert at.get("plotly_chart"), "the sample preview is missing"
    go(at, "pages/train.py")
    at.selectbox(key="setting:model.kind").set_value(kind).run()
    train(at, epochs=1)
    assert at.session_state["result"].data.kind == ("series" if dataset == "ecg5000" else "image")
    go(at, "pages/threshold.py")
    assert len(at.get("plotly_chart")) == 4
    go(at, "pages/flagged.py")
    assert at.get("plotly_chart")
