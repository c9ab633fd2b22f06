"""Train: model and training settings, a live loss chart while the autoencoder trains, then a summary."""

import dataclasses
import itertools
import time
from pathlib import Path

import streamlit as st

from core import figures
from core.config import bottleneck_warning, validate
from core.errors import ConfigError, StudioError
from core.fields import FIELDS
from core.result import STOP_REASONS
from ui import data as data_cache
from ui import engine, saving, state, widgets


def training_job():
    """The TrainingJob class, loading TensorFlow first if the server's warm-up has not yet (the form paints without
    it, so a first visit to this page never waits for TensorFlow)."""
    with st.spinner("Loading TensorFlow…"):
        engine.load()
        from core.jobs import TrainingJob
    return TrainingJob


def duration(seconds) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def start_training(config) -> None:
    """Start one background training, never two."""
    if state.training_running():
        return
    try:
        data = data_cache.experiment_data(config)
    except StudioError as exc:
        state.set_training_error(str(exc))
        return
    state.set_config(config)
    state.start_job(lambda: training_job()(config, data_dir=state.data_dir(), data=data))


def continue_training(result, epochs: int) -> None:
    """Start training the session's model `epochs` more epochs in the background."""
    try:
        state.start_job(lambda: training_job().continuing(result, epochs))
    except ConfigError as exc:
        state.set_training_error(str(exc))


def continue_form(result) -> None:
    """More epochs for the model on screen: its optimizer carries on where it stopped, the loss chart too."""
    epochs_run = result.history.epochs_run
    with st.form("continue_training", border=True):
        st.markdown("**Continue training**")
        more = st.number_input(
            "More epochs",
            min_value=1,
            max_value=max(1, int(FIELDS["train.epochs"].high) - epochs_run),
            value=min(5, max(1, int(FIELDS["train.epochs"].high) - epochs_run)),
            help=f"Trains this model on from epoch {epochs_run + 1} on the same training samples, then scores "
            "and thresholds again. A saved run stays as it is: save the result as a new run.",
        )
        if not result.detector.keeps_optimizer_state:
            st.caption(
                "This model was opened from a saved run, which keeps no optimizer state: training goes on with "
                f"a new Adam optimizer at learning rate {result.config.train.learning_rate:g}."
            )
        submitted = st.form_submit_button("Continue", icon=":material/resume:")
    if submitted:
        continue_training(result, int(more))
        st.rerun()  # redraw as a running training


def tensorboard_command(result) -> None:
    """How to open the model's TensorBoard logs: in its saved run, else in the temporary folder of the training."""
    log_dir = getattr(result.detector, "log_dir_", None)
    if not result.config.train.tensorboard or log_dir is None:
        return
    saved = state.workspace().saved_run
    if saved and (Path(saved) / "tensorboard").is_dir():
        log_dir = str(Path(saved) / "tensorboard")
        st.caption("TensorBoard logs of this run:")
    else:
        st.caption(
            "TensorBoard logs of this training, in a temporary folder until you save the run, which keeps them in "
            "its tensorboard/ folder:"
        )
    st.code(f'tensorboard --logdir "{log_dir}"', language="bash")


def stop_training() -> None:
    if state.job() is not None:
        state.job().stop()


def settings_form(config, data) -> None:
    """The model and training settings in one form; its Train button applies them and starts training.

    The widgets start from the config and write nothing until Train is pressed, so what they show after
    a reload, a preset or an opened run is the config in force.
    """
    kind = data.kind
    with st.form(state.form_key("train_settings"), border=False):
        model_column, training_column, run_column = st.columns(3, gap="medium")
        with model_column.container(border=True):
            st.markdown("**Model**")
            model_kind = widgets.choice("model.kind", config.model.kind, kind)
            latent_dim = widgets.number("model.latent_dim", config.model.latent_dim)
            hidden = widgets.sizes("model.hidden", config.model.hidden)
            filters = widgets.sizes("model.filters", config.model.filters)
            kernel_size = widgets.number("model.kernel_size", config.model.kernel_size)
        with training_column.container(border=True):
            st.markdown("**Training**")
            loss = widgets.choice("train.loss", config.train.loss, kind)
            epochs = widgets.number("train.epochs", config.train.epochs)
            batch_size = widgets.number("train.batch_size", config.train.batch_size)
            learning_rate = widgets.number("train.learning_rate", config.train.learning_rate)
            noise = widgets.number("train.noise", config.train.noise)
            tensorboard = widgets.switch("train.tensorboard", config.train.tensorboard)
        with run_column.container(border=True):
            st.markdown("**Validation and scoring**")
            validation_fraction = widgets.number("train.validation_fraction", config.train.validation_fraction)
            patience = widgets.number("train.early_stopping_patience", config.train.early_stopping_patience)
            error = widgets.choice("score.error", config.score.error, kind)
            density = config.score.density_components
            if FIELDS["score.density_components"].applies(kind):
                density = widgets.number("score.density_components", config.score.density_components)
            aggregate = config.score.aggregate
            if FIELDS["score.aggregate"].applies(kind):
                aggregate = widgets.choice("score.aggregate", config.score.aggregate, kind)
            causal, likelihood = config.score.causal, config.score.likelihood
            if FIELDS["score.causal"].applies(kind):
                causal = widgets.switch("score.causal", config.score.causal)
                likelihood = widgets.switch("score.likelihood", config.score.likelihood)
            baselines = widgets.choices("score.baselines", config.score.baselines)
            seed = widgets.number("seed", config.seed)
        train_column, _ = st.columns([1, 5])
        submitted = train_column.form_submit_button(
            "Train", type="primary", icon=":material/play_arrow:", width="stretch"
        )
    if not submitted:
        return
    try:
        new_config = config.replace(
            seed=seed,
            model=dataclasses.replace(
                config.model,
                kind=model_kind,
                latent_dim=latent_dim,
                kernel_size=kernel_size,
                hidden=widgets.parse_sizes("model.hidden", hidden),
                filters=widgets.parse_sizes("model.filters", filters),
            ),
            train=dataclasses.replace(
                config.train,
                loss=loss,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                noise=noise,
                validation_fraction=validation_fraction,
                early_stopping_patience=patience,
                tensorboard=tensorboard,
            ),
            score=dataclasses.replace(
                config.score,
                error=error,
                density_components=density,
                aggregate=aggregate,
                causal=causal,
                likelihood=likelihood,
                baselines=list(baselines),
            ),
        )
        validate(new_config, data.kind)
    except ConfigError as exc:
        state.workspace().training_error = str(exc)
        return
    start_training(new_config)
    st.rerun()  # redraw as a running training


def settings_summary(config) -> str:
    model, train = config.model, config.train
    layers = model.hidden if model.kind == "dense" else model.filters
    sizes = layers if isinstance(layers, str) else ", ".join(map(str, layers)) or "none"
    return (
        f"{FIELDS['model.kind'].label_of(model.kind)} autoencoder · latent size {model.latent_dim} · layers {sizes} · "
        f"{FIELDS['train.loss'].label_of(train.loss)} loss · {train.epochs} epochs · batch size {train.batch_size} · "
        f"learning rate {train.learning_rate:g}"
    )


def show_progress(snapshot) -> None:
    progress = snapshot.progress
    if snapshot.status == "queued":
        st.progress(
            0.0,
            text=f"Queued: the server is busy with other trainings ({snapshot.ahead} more waiting before this one); "
            "it starts by itself when its turn comes.",
        )
    elif progress is None:
        st.progress(0.0, text="Preparing the data and building the model…")
    else:
        val = f" · validation {progress.val_loss:.4g}" if progress.val_loss is not None else ""
        st.progress(
            progress.fraction_done,
            text=f"Epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.batches_per_epoch} · "
            f"loss {progress.loss:.4g}{val} · {duration(progress.elapsed_s)} elapsed · ETA {duration(progress.eta_s)}",
        )


# Streamlit clears Keras' session after every script run, fragment runs included, which costs a running
# training about 0.2 s (its kernels are rebuilt). So one fragment run redraws the live view twice a second for
# LIVE_RUN_SECONDS, and a new run starts every LIVE_RUN_SECONDS + 1: a watching page ends a run every 5 s, not
# twice a second. A click (Stop, another page) interrupts the run at once.
LIVE_RUN_SECONDS = 4.0
REDRAW_SECONDS = 0.5


@st.fragment(run_every=LIVE_RUN_SECONDS + 1)
def live_training() -> None:
    """The job's progress and loss chart, redrawn twice a second; hands over to the full page once training ends."""
    view = st.empty()
    ends = time.monotonic() + LIVE_RUN_SECONDS
    for redraw in itertools.count():
        job = state.job()
        if job is None or not job.running:
            st.rerun()
        snapshot = job.snapshot()
        with view.container():
            show_progress(snapshot)
            loss = figures.loss_curve(snapshot.history, log_y=st.session_state["loss_log_y"])
            st.plotly_chart(loss, key=f"live_loss_{redraw}")
        if time.monotonic() + REDRAW_SECONDS > ends:
            return
        time.sleep(REDRAW_SECONDS)


st.title("Train")
config = state.config()
running = state.training_running()

try:
    data = data_cache.experiment_data(config)
except StudioError as exc:
    st.error(str(exc))
    st.page_link(state.DATASET_PAGE, label="Set the data folder, or choose another dataset", icon=":material/dataset:")
    st.stop()

if data.timestamps is not None:
    st.caption(
        f"{state.dataset_label(config.data.dataset)} · trains on the windows of {len(data.x_train):,} timestamps "
        f"(windows of shape {tuple(data.sample_shape)}, every {data.stride} steps) and scores "
        f"{len(data.x_score):,} timestamps."
    )
else:
    st.caption(
        f"{state.dataset_label(config.data.dataset)} · trains on {len(data.x_train):,} samples of shape "
        f"{tuple(data.sample_shape)} and scores {len(data.x_score):,}."
    )

if running:
    # Read-only while a model trains: edits could not reach the running job.
    job = state.job()
    doing = "Training" if job.continued is None else f"Training on from epoch {job.continued.history.epochs_run + 1}"
    st.info(f"{doing}: {settings_summary(job.config)}", icon=":material/model_training:")
    stop_column, _ = st.columns([1, 5])
    stop_column.button(
        "Stop training",
        icon=":material/stop:",
        on_click=stop_training,
        width="stretch",
        help="Ends training after the current batch and keeps the model trained so far.",
    )
else:
    settings_form(config, data)
    warning = bottleneck_warning(config.model, tuple(data.sample_shape))
    if warning:
        st.warning(warning, icon=":material/warning:")
if state.workspace().training_error:
    st.error(state.workspace().training_error)

st.toggle("Log-scale loss", key="loss_log_y")
if running:
    live_training()
    st.stop()

result = state.result()
if result is None:
    st.info("Set the model up above and press **Train**. The loss chart updates live while it trains.")
    st.stop()

engine.warm_umap()  # a model exists: compile UMAP for the Latent map meanwhile
history = result.history
st.subheader("Current model")
same_data = result.config.data == config.data and result.config.seed == config.seed
if not same_data:
    st.info(
        f"This model was trained on other data ({state.describe_result(result)}, "
        f"{len(result.data.x_train):,} training samples). Press **Train** to train one on the data above.",
        icon=":material/info:",
    )
cards = st.columns(5)
cards[0].metric("Epochs run", f"{history.epochs_run}", border=True)
cards[1].metric("Final loss", f"{history.loss[-1]:.4g}" if history.loss else "–", border=True)
cards[2].metric("Best epoch", f"{history.best_epoch}" if history.best_epoch else "–", border=True)
cards[3].metric("Training time", duration(history.seconds), border=True)
auroc = result.metrics.get("auroc")
cards[4].metric("AUROC", f"{auroc:.3f}" if auroc is not None else "no labels", border=True)
st.caption(f"Training {STOP_REASONS.get(history.stopped, history.stopped)}. Threshold: {state.threshold().explanation}")
for message in result.warnings:
    st.warning(message, icon=":material/warning:")
st.plotly_chart(figures.loss_curve(history, log_y=st.session_state["loss_log_y"]), key="final_loss")
if same_data:
    continue_form(result)

saving.save_controls()
tensorboard_command(result)
st.page_link(state.THRESHOLD_PAGE, label="Pick a threshold", icon=":material/arrow_forward:")
