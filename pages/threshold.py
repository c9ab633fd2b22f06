"""Threshold: move a threshold over the reconstruction errors and watch the flagged count and metrics follow.

Nothing here touches the model: the errors were scored once, the histogram is binned once, and
every metric at a new threshold is a binary search in the sorted errors (ui.analysis).
"""

import dataclasses
import math

import streamlit as st

from core import baselines, curve_figures, figures
from core.config import ThresholdConfig
from core.data import TIMESERIES
from core.errors import ConfigError
from core.fields import FIELDS, LABELLED_METHODS
from core.metrics import confusion_matrix
from core.thresholds import choose_threshold
from core.timeseries import score_mode
from ui import analysis, saving, state, timeline
from ui import baselines as baseline_view

PARAMETERS = {"quantile": "q", "mean_std": "k", "contamination": "rate", "fpr": "rate"}  # method -> its field
WIDGET = "threshold:"
SLIDER, TYPED, METHOD, SHOWN = WIDGET + "value", WIDGET + "typed", WIDGET + "method", WIDGET + "shown"
THRESHOLD_ERROR = "threshold_error"
BOX_DRAWN = "threshold_parameter_drawn"  # the parameter whose box the last run drew, or None

state.require_result()
result = state.result()
scores, labels = result.scores, result.data.labels
summary = analysis.summary(result)
shown_baselines = baseline_view.view(result)  # None while they compute, or when the result has none


def threshold_config(method: str, value: float, **typed: float) -> ThresholdConfig:
    """The config's threshold with `method`, `value` and a parameter `typed` just now. The other parameters are the
    config's: a parameter box not drawn has no value of its own (Streamlit drops or keeps a stale one)."""
    return dataclasses.replace(state.config().threshold, method=method, value=value, **typed)


def apply_threshold(method: str, value: float | None = None, **typed: float) -> None:
    """Callback: choose the threshold the way `method` says (or at `value`), and move the slider and box there."""
    try:
        new_config = threshold_config(method, st.session_state[SLIDER] if value is None else value, **typed)
        choice = choose_threshold(new_config, scores, result.train_scores, labels)
    except ConfigError as exc:
        st.session_state[THRESHOLD_ERROR] = str(exc)
        return
    st.session_state.pop(THRESHOLD_ERROR, None)
    state.workspace().threshold = choice
    st.session_state[SLIDER] = st.session_state[TYPED] = choice.value
    st.session_state[METHOD] = method
    st.session_state[SHOWN] = choice
    state.update_config(threshold=dataclasses.replace(new_config, value=choice.value))


def on_method_change() -> None:
    apply_threshold(st.session_state[METHOD])


def on_parameter_typed(name: str) -> None:
    apply_threshold(st.session_state[METHOD], **{name: float(st.session_state[WIDGET + name])})


def on_slider_move() -> None:
    apply_threshold("value")


def on_typed() -> None:
    if st.session_state[TYPED] is not None:
        apply_threshold("value", st.session_state[TYPED])


def percent(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def slider_step(span: float) -> tuple[float, str]:
    """A round step of between a 200th and a 2,000th of `span` (one arrow-key press moves a visible amount; the
    box beside the slider takes any value), and a format showing its decimals."""
    decimals = max(0, -math.floor(math.log10(span / 200))) if span > 0 else 6
    return 10.0**-decimals, f"%.{decimals}f"


choice = state.threshold()
method_field = FIELDS["threshold.method"]
methods = [m for m in method_field.choices if labels is not None or m not in LABELLED_METHODS]

st.title("Threshold")
st.caption(
    f"{state.dataset_label(result.config.data.dataset)} · {result.config.model.kind} autoencoder · "
    f"{len(scores):,} scored {'timestamps' if result.data.kind == TIMESERIES else 'samples'}"
    + ("" if labels is not None else " · no labels, so only counts are shown")
    + (f" · scored {score_mode(result.config.score)}" if result.data.kind == TIMESERIES else "")
)

if st.session_state.get(SHOWN) is not choice or SLIDER not in st.session_state:
    # A new result, an opened run, a change made in another tab of this session, or a return to this page:
    # the widgets show the threshold in force.
    st.session_state[SLIDER] = st.session_state[TYPED] = choice.value
    st.session_state[METHOD] = choice.method if choice.method in methods else "value"
    st.session_state[SHOWN] = choice
    st.session_state[BOX_DRAWN] = None

method_column, parameter_column, explanation_column = st.columns([3, 2, 5], vertical_alignment="bottom")
method = method_column.selectbox(
    method_field.label,
    methods,
    format_func=method_field.label_of,
    on_change=on_method_change,
    key=METHOD,
    help=method_field.help,
)
if method in PARAMETERS:
    name = PARAMETERS[method]
    spec = FIELDS[f"threshold.{name}"]
    if st.session_state.get(BOX_DRAWN) != name or WIDGET + name not in st.session_state:
        # A box not drawn in the last run shows the config's parameter: Streamlit forgets (or keeps a stale)
        # value of a hidden widget, and a box without one would start at its lower limit (k = -100).
        st.session_state[WIDGET + name] = float(getattr(state.config().threshold, name))
    parameter_column.number_input(
        spec.label,
        spec.low,
        spec.high,
        step=spec.step,
        format=spec.format,
        help=spec.help,
        on_change=on_parameter_typed,
        args=(name,),
        key=WIDGET + name,
    )
st.session_state[BOX_DRAWN] = PARAMETERS.get(method)
explanation_column.info(choice.explanation, icon=":material/info:")
if THRESHOLD_ERROR in st.session_state:
    st.error(st.session_state[THRESHOLD_ERROR])

low, high = min(float(scores.min()), choice.value), max(float(scores.max()), choice.value)
step, value_format = slider_step(high - low)
slider_column, typed_column = st.columns([5, 1], vertical_alignment="bottom")
slider_column.slider(
    "Threshold (reconstruction error)", low, high, step=step, format=value_format, key=SLIDER, on_change=on_slider_move
)
typed_column.number_input(
    "Exact value", format="%.6g", key=TYPED, on_change=on_typed, help="Type any threshold; the slider follows."
)
threshold = state.threshold().value  # exact, whether it came from the slider, the box or a method

point = summary.curve.at(threshold)
cards = st.columns([0.95, 1, 1, 0.8, 1.2, 1.3], gap="xsmall")  # the longest title and "100.0%" fit at 1400 px
share = f"{100 * point['n_flagged'] / point['n_scored']:.3g}% of {point['n_scored']:,}"  # "100% of 1,000" fits
cards[0].metric("Flagged", f"{point['n_flagged']:,}", share, delta_color="off", delta_arrow="off", border=True)
if labels is not None:
    cards[1].metric(
        "Precision", percent(point["precision"]), border=True, help="Share of flagged samples that are anomalies."
    )
    cards[2].metric("Recall", percent(point["recall"]), border=True, help="Share of anomalies that are flagged.")
    cards[3].metric("F1", "–" if point["f1"] is None else f"{point['f1']:.3f}", border=True)
    cards[4].metric(
        "Normals correct",
        percent(point["accuracy_normal"]),
        border=True,
        help="Accuracy on normal samples: the share left unflagged.",
    )
    cards[5].metric(
        "Anomalies correct",
        percent(point["accuracy_anomaly"]),
        border=True,
        help="Accuracy on anomalies: the share flagged (the recall).",
    )

if result.data.kind == TIMESERIES:
    timeline.event_cards(result, threshold)
    timeline.timeline_chart(result, threshold)

log_x_column, log_y_column, _ = st.columns([1, 1, 4])
log_x = log_x_column.toggle("Log-scale errors", key="histogram_log_x")
log_y = log_y_column.toggle("Log-scale counts", key="histogram_log_y")
bins = summary.bins(log_x)
event = st.plotly_chart(
    figures.error_histogram(bins, threshold, log_y=log_y),
    key="error_histogram",
    on_select="rerun",
    selection_mode="box",
)
st.caption("Drag a box over the histogram to list the samples in that error range.")

selected_boxes = event.selection.box if event and event.selection else []
if selected_boxes:
    x0, x1 = sorted(selected_boxes[0]["x"])
    in_range = summary.between(x0, x1)
    st.markdown(f"**{len(in_range):,} samples** with an error between {x0:.4g} and {x1:.4g}")
    st.dataframe(analysis.sample_table(result, in_range[:1000], threshold), hide_index=True, height=280)

if labels is not None:
    confusion_column, roc_column, pr_column = st.columns(3)
    confusion_column.plotly_chart(figures.confusion_figure(confusion_matrix(point)), key="confusion")
    if summary.roc[0].size:
        negatives = point["n_scored"] - point["n_anomalies"]
        fpr = point["false_positives"] / negatives
        roc = curve_figures.roc_figure(
            *summary.roc,
            point=(fpr, point["recall"]),
            auroc=result.metrics.get("auroc"),
            baselines=shown_baselines.roc if shown_baselines else None,
        )
        roc_column.plotly_chart(roc, key="roc")
        pr = curve_figures.pr_figure(
            *summary.pr,
            point=(point["recall"], point["precision"]),
            average_precision=result.metrics.get("average_precision"),
        )
        pr_column.plotly_chart(pr, key="pr")
    else:
        roc_column.info("ROC and precision–recall curves need both normal samples and anomalies among the scored ones.")

if result.baselines is not None and result.baselines.names:
    st.subheader("Beside classical detectors")
    if shown_baselines is None:
        baseline_view.wait_for(result)
    else:
        sentence = baselines.beats_sentence(result.metrics.get("auroc"), shown_baselines.results.values())
        if sentence:
            st.warning(sentence, icon=":material/balance:")
        st.dataframe(
            baseline_view.table(result, shown_baselines, summary.by_error, point["n_flagged"]),
            hide_index=True,
            key="baselines_table",
        )
        st.caption(
            "Each detector fits on the same training samples and scores the same samples as the autoencoder."
            + (
                " Their ROC curves are on the ROC chart; click a legend entry to hide or show one."
                if labels is not None
                else " Without labels: how far each ranks the samples as the autoencoder does (Spearman), and the "
                "share of the samples flagged now that it also ranks among its top as many."
            )
        )

saving.save_controls()
flagged_what = "flagged events" if result.data.kind == TIMESERIES else f"{point['n_flagged']:,} flagged samples"
st.page_link(state.FLAGGED_PAGE, label=f"Inspect the {flagged_what}", icon=":material/flag:")
