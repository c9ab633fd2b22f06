"""Threshold: move a threshold over the reconstruction errors and watch the flagged count and metrics follow.

Nothing here touches the model: the errors were scored once, the histogram is binned once, and
every metric at a new threshold is a binary search in the sorted errors (ui.analysis).
"""

import math

import streamlit as st

from core import figures
from core.config import ThresholdConfig
from core.errors import ConfigError
from core.metrics import confusion_matrix
from core.thresholds import choose_threshold
from ui import analysis, state

METHODS = {
    "value": "Manual",
    "quantile": "Quantile of the errors",
    "mean_std": "Mean + k·σ of training errors",
    "max": "Max training error",
    "contamination": "Expected contamination",
    "fpr": "Target false-positive rate",
    "best_f1": "Best F1 (uses labels)",
}
LABELLED_METHODS = ("fpr", "best_f1")
PARAMETERS = {  # method -> (config field, label, min, max, step, format)
    "quantile": ("q", "Quantile q", 0.5, 1.0, 0.001, "%.3f"),
    "mean_std": ("k", "k (standard deviations)", 0.0, 10.0, 0.1, "%.1f"),
    "contamination": ("rate", "Share of samples to flag", 0.0001, 0.5, 0.001, "%.4f"),
    "fpr": ("rate", "False-positive rate", 0.0001, 0.5, 0.001, "%.4f"),
}
SLIDER = state.SETTING + "threshold.value"
METHOD = state.SETTING + "threshold.method"
THRESHOLD_ERROR = "threshold_error"

state.require_result()
result = state.result()
scores, labels = result.scores, result.data.labels
summary = analysis.summary(result)


def threshold_config(method: str, value: float) -> ThresholdConfig:
    current = state.config().threshold
    parameters = {field: st.session_state.get(state.SETTING + f"threshold.{field}", getattr(current, field))
                  for field in ("q", "k", "rate")}
    return ThresholdConfig(method=method, value=value, **parameters)


def apply_threshold(method: str) -> None:
    """Callback: choose the threshold the way `method` says, and move the slider there."""
    try:
        choice = choose_threshold(threshold_config(method, st.session_state[SLIDER]), scores, result.train_scores, labels)
    except ConfigError as exc:
        st.session_state[THRESHOLD_ERROR] = str(exc)
        return
    st.session_state.pop(THRESHOLD_ERROR, None)
    st.session_state[state.THRESHOLD] = choice
    st.session_state[SLIDER] = choice.value
    st.session_state[METHOD] = method
    state.update_config(threshold=threshold_config(method, choice.value))


def on_method_change() -> None:
    apply_threshold(st.session_state[METHOD])


def on_slider_move() -> None:
    apply_threshold("value")


def percent(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def slider_step(span: float) -> tuple[float, str]:
    """A round step of about a thousandth of `span`, and a format showing its decimals."""
    decimals = max(0, -math.floor(math.log10(span / 1000))) if span > 0 else 6
    return 10.0 ** -decimals, f"%.{decimals}f"


choice = state.threshold()
methods = [m for m in METHODS if labels is not None or m not in LABELLED_METHODS]

st.title("Threshold")
st.caption(
    f"{state.dataset_label(result.config.data.dataset)} · {result.config.model.kind} autoencoder · "
    f"{len(scores):,} scored samples" + ("" if labels is not None else " · no labels, so only counts are shown")
)

method_column, parameter_column, explanation_column = st.columns([3, 2, 5], vertical_alignment="bottom")
method = method_column.selectbox(
    "How to choose it", methods, format_func=METHODS.get, on_change=on_method_change,
    key=state.setting("threshold.method", choice.method if choice.method in methods else "value"),
)
if method in PARAMETERS:
    field, label, low, high, step, number_format = PARAMETERS[method]
    parameter_column.number_input(label, low, high, step=step, format=number_format, on_change=on_method_change,
                                  key=state.setting(f"threshold.{field}", float(getattr(state.config().threshold, field))))
explanation_column.info(choice.explanation, icon=":material/info:")
if THRESHOLD_ERROR in st.session_state:
    st.error(st.session_state[THRESHOLD_ERROR])

low, high = min(float(scores.min()), choice.value), max(float(scores.max()), choice.value)
step, value_format = slider_step(high - low)
threshold = st.slider("Threshold (reconstruction error)", low, high, step=step, format=value_format,
                      key=state.setting("threshold.value", choice.value), on_change=on_slider_move)

point = summary.curve.at(threshold)
cards = st.columns(6)
share = f"{point['n_flagged'] / point['n_scored']:.2%} of {point['n_scored']:,}"
cards[0].metric("Flagged", f"{point['n_flagged']:,}", share, delta_color="off", delta_arrow="off", border=True)
if labels is not None:
    cards[1].metric("Precision", percent(point["precision"]), border=True,
                    help="Share of flagged samples that are anomalies.")
    cards[2].metric("Recall", percent(point["recall"]), border=True, help="Share of anomalies that are flagged.")
    cards[3].metric("F1", "–" if point["f1"] is None else f"{point['f1']:.3f}", border=True)
    cards[4].metric("Normals right", percent(point["accuracy_normal"]), border=True,
                    help="Accuracy on normal samples: the share left unflagged.")
    cards[5].metric("Anomalies right", percent(point["accuracy_anomaly"]), border=True,
                    help="Accuracy on anomalies: the share flagged (the recall).")

log_x_column, log_y_column, _ = st.columns([1, 1, 4])
log_x = log_x_column.toggle("Log-scale errors", key="histogram_log_x")
log_y = log_y_column.toggle("Log-scale counts", key="histogram_log_y")
bins = summary.bins(log_x)
event = st.plotly_chart(
    figures.error_histogram(bins, threshold, log_y=log_y), key="error_histogram",
    on_select="rerun", selection_mode="box",
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
        roc = figures.roc_figure(*summary.roc, point=(fpr, point["recall"]), auroc=result.metrics.get("auroc"))
        roc_column.plotly_chart(roc, key="roc")
        pr = figures.pr_figure(*summary.pr, point=(point["recall"], point["precision"]),
                               average_precision=result.metrics.get("average_precision"))
        pr_column.plotly_chart(pr, key="pr")
    else:
        roc_column.info("ROC and precision–recall curves need both normal samples and anomalies among the scored ones.")

st.page_link(state.FLAGGED_PAGE, label=f"Inspect the {point['n_flagged']:,} flagged samples", icon=":material/flag:")
