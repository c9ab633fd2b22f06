"""The Train page's Continue form (AppTest): a trained or opened model trains on, its loss chart goes on, Stop
works; and the TensorBoard switch, whose logs' command the Train and Runs pages show."""

import json
import time
from pathlib import Path

import pytest

from core.run_titles import folder_title
from tests.test_pages import (  # noqa: F401
    button,
    go,
    labelled,
    metric,
    navigation_runs_app_py,
    start_app,
    wait_for_training,
    workspace,
)


def loss_points(at) -> int:
    """How many epochs the Train page's loss chart (live or final) draws: its per-epoch "train" trace."""
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        for trace in figure["data"]:
            if trace.get("name") == "train":
                return len(trace["y"])
    raise AssertionError("no per-epoch training loss on the page")


def continue_for(at, epochs: int) -> None:
    labelled(at.number_input, "More epochs").set_value(epochs)
    button(at, "Continue").click().run()
    assert not at.exception, at.exception[0].message


def tensorboard_commands(at) -> list[str]:
    return [code.value for code in at.code if code.value.startswith("tensorboard --logdir")]


def test_a_trained_model_trains_on_where_it_stopped():
    at = go(start_app(), "pages/train.py")
    labelled(at.number_input, "Epochs").set_value(1)
    labelled(at.toggle, "Write TensorBoard logs").set_value(True)
    button(at, "Train").click().run()
    wait_for_training(at)
    first = workspace(at).result
    assert metric(at, "Epochs run") == "1" and loss_points(at) == 1
    [command] = tensorboard_commands(at)
    assert first.detector.log_dir_ in command

    continue_for(at, 1)
    assert workspace(at).job is not None or workspace(at).result is not first, "Continue started nothing"
    wait_for_training(at)
    result = workspace(at).result
    assert metric(at, "Epochs run") == "2" and loss_points(at) == 2
    assert result.history.loss[:1] == first.history.loss and result.history.continued_after == [1]
    assert result.config.train.epochs == 2
    assert not any("keeps no optimizer state" in caption.value for caption in at.caption)

    button(at, "Save run").click().run()
    saved = Path(workspace(at).saved_run)
    assert tensorboard_commands(at) == [f'tensorboard --logdir "{saved / "tensorboard"}"']
    assert list((saved / "tensorboard" / "train").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_an_opened_run_trains_on_into_a_new_result_and_stop_works():
    at = go(start_app(), "pages/train.py")
    labelled(at.number_input, "Epochs").set_value(1)
    labelled(at.toggle, "Write TensorBoard logs").set_value(True)
    button(at, "Train").click().run()
    wait_for_training(at)
    button(at, "Save run").click().run()
    saved = Path(workspace(at).saved_run)
    history_before = (saved / "history.json").read_bytes()

    go(at, "pages/runs.py")
    [shown] = [name for name in at.selectbox[0].options if folder_title(saved) in name]  # named by its title
    at.selectbox[0].set_value(shown).run()
    button(at, "Open").click().run()
    assert tensorboard_commands(at) == [f'tensorboard --logdir "{saved / "tensorboard"}"']
    go(at, "pages/train.py")
    assert any("keeps no optimizer state" in caption.value for caption in at.caption)

    continue_for(at, 500)
    assert workspace(at).job.config.train.epochs == 501
    assert loss_points(at) >= 1, "the live chart draws the earlier epoch from the start"
    assert at.info[0].value.startswith("Training on from epoch 2: ") and "501 epochs" in at.info[0].value
    deadline = time.monotonic() + 120
    while len(workspace(at).job.snapshot().history.loss) < 2:
        assert time.monotonic() < deadline, "no continued epoch finished in time"
        time.sleep(0.5)
    at.run()
    assert loss_points(at) >= 2  # the live chart: the earlier epoch, then the new ones
    button(at, "Stop training").click().run()
    wait_for_training(at, timeout=120)
    result = workspace(at).result
    assert result.history.stopped == "stopped" and 2 <= result.history.epochs_run < 501
    assert metric(at, "Epochs run") == str(result.history.epochs_run)
    assert loss_points(at) == result.history.epochs_run
    assert workspace(at).saved_run is None, "the continued model is a new, unsaved result"
    assert (saved / "history.json").read_bytes() == history_before, "the opened run must stay as it was"
