"""Train: model and training settings, a live loss chart while the autoencoder trains, then a summary."""

import dataclasses

import streamlit as st

from core import figures
from core.errors import StudioError
from ui import data as data_cache
from ui import state

with st.spinner("Loading TensorFlow…"):
    from core.jobs import TrainingJob
    from core.models import bottleneck_warning
    from core.runs import save_run

KEY = state.SETTING  # widget keys: a new config (a preset, an opened run) resets them all
MODEL_LABELS = {"conv": "Convolutional (2-D)", "conv1d": "Convolutional (1-D)", "dense": "Dense"}
ERROR_LABELS = {"mse": "MSE (squared error)", "mae": "MAE (absolute error)", "bce": "Binary cross-entropy",
                "ssim": "1 − SSIM (structure)"}
STOP_REASONS = {"completed": "completed every epoch", "early_stopping": "stopped early (validation loss stopped improving)",
                "stopped": "stopped by you", "diverged": "diverged"}


def parse_sizes(text: str, name: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise StudioError(f"{name} must be positive whole numbers separated by commas, like 32, 64")
    return sizes


def duration(seconds) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def config_from_settings(config):
    """`config` with what the settings widgets say (their values are in session state); StudioError if invalid."""
    def widget(name: str):
        return st.session_state[KEY + name]

    kind = widget("model.kind")
    sizes_field = "hidden" if kind == "dense" else "filters"
    sizes = parse_sizes(widget(f"model.{sizes_field}"), "Hidden layers" if kind == "dense" else "Convolution filters")
    validation_fraction = float(widget("train.validation_fraction"))
    patience = int(widget("train.early_stopping_patience"))
    return config.replace(
        seed=int(widget("seed")),
        model=dataclasses.replace(config.model, kind=kind, latent_dim=int(widget("model.latent_dim")),
                                  **{sizes_field: sizes}),
        train=dataclasses.replace(
            config.train, loss=widget("train.loss"), epochs=int(widget("train.epochs")),
            batch_size=int(widget("train.batch_size")), learning_rate=float(widget("train.learning_rate")),
            validation_fraction=validation_fraction,
            early_stopping_patience=patience if patience and validation_fraction > 0 else None,
        ),
        score=dataclasses.replace(config.score, error=widget("score.error")),
    )


def start_training() -> None:
    """Button callback: start one background training, never two.

    The config is read from the widgets here, because a click right after an edit can arrive before
    the rerun that would have stored the edit.
    """
    if state.training_running():
        return
    try:
        config = config_from_settings(state.config())
        data = data_cache.experiment_data(config)
    except StudioError as exc:
        st.session_state[state.TRAINING_ERROR] = str(exc)
        return
    st.session_state.pop(state.TRAINING_ERROR, None)
    st.session_state[state.CONFIG] = config
    st.session_state[state.JOB] = TrainingJob(config, data_dir=state.data_dir(), data=data).start()


def stop_training() -> None:
    if state.job() is not None:
        state.job().stop()


def edit_settings(config, data) -> None:
    """The model and training widgets; what they say becomes the session's config.

    They start from the config through their `value`/`index` rather than through session state: after
    the live chart's fragment calls st.rerun(), the browser shows widgets re-created from session
    state at their defaults (while Python reads the right values), and a default equal to the config
    makes that harmless.
    """
    kinds, errors = state.MODEL_KINDS[data.kind], state.ERRORS[data.kind]
    model_column, training_column, run_column = st.columns(3, gap="medium")
    with model_column.container(border=True):
        st.markdown("**Model**")
        kind = st.selectbox("Architecture", kinds, format_func=MODEL_LABELS.get, key=KEY + "model.kind",
                            index=kinds.index(config.model.kind) if config.model.kind in kinds else 0)
        st.number_input("Latent size (code length)", 1, 4096, config.model.latent_dim, key=KEY + "model.latent_dim",
                        help="How many numbers the encoder squeezes each sample into.")
        if kind == "dense":
            st.text_input("Hidden layers", ", ".join(map(str, config.model.hidden)), key=KEY + "model.hidden",
                          help="Units per hidden layer, e.g. 128, 64")
        else:
            st.text_input("Convolution filters", ", ".join(map(str, config.model.filters or [32, 64])),
                          key=KEY + "model.filters", help="Filters per stride-2 layer, e.g. 32, 64")

    with training_column.container(border=True):
        st.markdown("**Training**")
        st.selectbox("Loss", errors, format_func=ERROR_LABELS.get, key=KEY + "train.loss",
                     index=errors.index(config.train.loss) if config.train.loss in errors else 0)
        st.number_input("Epochs", 1, 10_000, config.train.epochs, key=KEY + "train.epochs")
        st.number_input("Batch size", 1, 65_536, config.train.batch_size, key=KEY + "train.batch_size")
        st.number_input("Learning rate", 1e-6, 1.0, float(config.train.learning_rate), step=1e-4, format="%.4f",
                        key=KEY + "train.learning_rate")

    with run_column.container(border=True):
        st.markdown("**Validation and scoring**")
        validation_fraction = st.slider("Validation fraction", 0.0, 0.5, float(config.train.validation_fraction),
                                        step=0.05, key=KEY + "train.validation_fraction")
        st.number_input("Early-stopping patience (epochs, 0 = off)", 0, 1000, config.train.early_stopping_patience or 0,
                        disabled=validation_fraction == 0, key=KEY + "train.early_stopping_patience")
        st.selectbox("Anomaly score", errors, format_func=ERROR_LABELS.get, key=KEY + "score.error",
                     index=errors.index(config.score.error) if config.score.error in errors else 0)
        st.number_input("Seed", 0, 2**32 - 1, config.seed, key=KEY + "seed")

    try:
        st.session_state[state.CONFIG] = config_from_settings(config)
    except StudioError as exc:
        st.error(str(exc))
        st.stop()

    warning = bottleneck_warning(state.config().model, tuple(data.sample_shape))
    if warning:
        st.warning(warning, icon=":material/warning:")


def settings_summary(config) -> str:
    model, train = config.model, config.train
    sizes = ", ".join(map(str, model.hidden if model.kind == "dense" else model.filters)) or "none"
    return (f"{MODEL_LABELS[model.kind]} autoencoder · latent size {model.latent_dim} · layers {sizes} · "
            f"{ERROR_LABELS[train.loss]} loss · {train.epochs} epochs · batch size {train.batch_size} · "
            f"learning rate {train.learning_rate:g}")


@st.fragment(run_every=0.5)
def live_training() -> None:
    """Redrawn twice a second from the job's snapshot; hands over to the full page once training ends."""
    job = state.job()
    if job is None or not job.running:
        st.rerun()
    snapshot = job.snapshot()
    progress = snapshot.progress
    if progress is None:
        st.progress(0.0, text="Preparing the data and building the model…")
    else:
        val = f" · validation {progress.val_loss:.4g}" if progress.val_loss is not None else ""
        st.progress(
            progress.fraction_done,
            text=f"Epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.batches_per_epoch} · "
                 f"loss {progress.loss:.4g}{val} · {duration(progress.elapsed_s)} elapsed · ETA {duration(progress.eta_s)}",
        )
    st.plotly_chart(figures.loss_curve(snapshot.history, log_y=st.session_state["loss_log_y"]), key="live_loss")


st.title("Train")
config = state.config()
running = state.training_running()

try:
    data = data_cache.experiment_data(config)
except StudioError as exc:
    st.error(str(exc))
    st.page_link(state.DATASET_PAGE, label="Choose another dataset", icon=":material/dataset:")
    st.stop()

st.caption(
    f"{state.dataset_label(config.data.dataset)} · trains on {len(data.x_train):,} samples of shape "
    f"{tuple(data.sample_shape)} and scores {len(data.x_score):,}."
)

if running:
    # Read-only while a model trains: edits could not reach the running job, and settings widgets
    # redrawn around the live chart's reruns have lost their values after Stop (a Streamlit race).
    st.info(f"Training: {settings_summary(state.job().config)}", icon=":material/model_training:")
else:
    edit_settings(config, data)

train_column, stop_column, _ = st.columns([1, 1, 4])
train_column.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, on_click=start_training,
                    width="stretch")
stop_column.button("Stop", icon=":material/stop:", disabled=not running, on_click=stop_training, width="stretch",
                   help="Ends training after the current batch and keeps the model trained so far.")
if state.TRAINING_ERROR in st.session_state:
    st.error(st.session_state[state.TRAINING_ERROR])

st.toggle("Log-scale loss", key="loss_log_y")
if running:
    live_training()
    st.stop()

result = state.result()
if result is None:
    st.info("Set the model up above and press **Train**. The loss chart updates live while it trains.")
    st.stop()

history = result.history
st.subheader("Current model")
cards = st.columns(5)
cards[0].metric("Epochs run", f"{history.epochs_run}", border=True)
cards[1].metric("Final loss", f"{history.loss[-1]:.4g}" if history.loss else "–", border=True)
cards[2].metric("Best epoch", f"{history.best_epoch}" if history.best_epoch else "–", border=True)
cards[3].metric("Training time", duration(history.seconds), border=True)
auroc = result.metrics.get("auroc")
cards[4].metric("AUROC", f"{auroc:.3f}" if auroc is not None else "no labels", border=True)
st.caption(f"Training {STOP_REASONS.get(history.stopped, history.stopped)}. Threshold: {result.threshold.explanation}")
for message in result.warnings:
    st.warning(message, icon=":material/warning:")
st.plotly_chart(figures.loss_curve(history, log_y=st.session_state["loss_log_y"]), key="final_loss")

save_column, next_column, _ = st.columns([1, 1, 3])
already_saved = bool(st.session_state.get(state.SAVED_RUN))
if save_column.button("Save run", icon=":material/save:", width="stretch", disabled=already_saved):
    try:
        st.session_state[state.SAVED_RUN] = str(save_run(result))
    except StudioError as exc:
        st.error(str(exc))
    else:
        st.rerun()  # redraw with the button disabled: the same run is saved once
next_column.page_link(state.THRESHOLD_PAGE, label="Pick a threshold", icon=":material/arrow_forward:")
if st.session_state.get(state.SAVED_RUN):
    st.success(f"Saved in {st.session_state[state.SAVED_RUN]}", icon=":material/check_circle:")
