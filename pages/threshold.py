"""Threshold: move a threshold over the reconstruction errors and watch the flagged count and metrics follow.

Nothing here touches the model: the errors were scored once, the histogram is binned once, and
every metric at a new threshold is a binary search in the sorted errors: in the browser while the line is
dragged (ui.threshold_histogram), here once it is released (ui.analysis).
"""

import dataclasses

import streamlit as st

from core import baselines, curve_figures, figures
from core.config import ThresholdConfig
from core.data import TIMESERIES
from core.errors import ConfigError
from core.fields import FIELDS, LABELLED_METHODS
from core.metrics import confusion_matrix
from core.thresholds import METHOD_PARAMETER, choose_threshold
from core.timeseries import score_mode
from ui import analysis, engine, saving, state, threshold_histogram, timeline
from ui import baselines as baseline_view

WIDGET = "threshold:"
TYPED, METHOD, SHOWN = WIDGET + "typed", WIDGET + "method", WIDGET + "shown"
HISTOGRAM, SEQ = WIDGET + "histogram", WIDGET + "seq"  # the component, and the browser's last move taken
RANGE = WIDGET + "range"  # the errors (low, high) whose samples are listed under the histogram
THRESHOLD_ERROR = "threshold_error"
BOX_DRAWN = "threshold_parameter_drawn"  # the parameter whose box the last run drew, or None

state.require_result()
engine.warm_umap()  # a model exists: compile UMAP for the Latent map meanwhile
result = state.result()
scores, labels = result.scores, result.data.labels
summary = analysis.summary(result)
shown_baselines = baseline_view.view(result)  # None while they compute, or when the result has none


def threshold_config(method: str, value: float, **typed: float) -> ThresholdConfig:
    """The threshold in use's config (the result's) with `method`, `value` and a parameter `typed` just now. The other
    parameters are the result's: a parameter box not drawn has no value of its own (Streamlit drops or keeps a stale
    one), and the session's next-training settings may differ from the threshold on screen."""
    return dataclasses.replace(state.result().config.threshold, method=method, value=value, **typed)


def apply_threshold(method: str, value: float | None = None, **typed: float) -> None:
    """Callback: choose the threshold the way `method` says (or at `value`), and move the line and box there."""
    try:
        new_config = threshold_config(method, state.threshold().value if value is None else value, **typed)
        choice = choose_threshold(new_config, scores, result.train_scores, labels)
    except ConfigError as exc:
        st.session_state[THRESHOLD_ERROR] = str(exc)
        return
    st.session_state.pop(THRESHOLD_ERROR, None)
    state.set_threshold(choice, new_config)
    st.session_state[TYPED] = choice.value
    st.session_state[METHOD] = method
    st.session_state[SHOWN] = choice
    st.session_state.pop(RANGE, None)
    state.update_config(threshold=dataclasses.replace(new_config, value=choice.value))


def on_method_change() -> None:
    apply_threshold(st.session_state[METHOD])


def on_parameter_typed(name: str) -> None:
    apply_threshold(st.session_state[METHOD], **{name: float(st.session_state[WIDGET + name])})


def on_line_released() -> None:
    move = threshold_histogram.released(HISTOGRAM)
    if move is not None:
        st.session_state[SEQ] = int(move["seq"])
        apply_threshold("value", float(move["value"]))


def on_range_selected() -> None:
    st.session_state[RANGE] = threshold_histogram.selected_range(HISTOGRAM)


def on_typed() -> None:
    if st.session_state[TYPED] is not None:
        apply_threshold("value", st.session_state[TYPED])


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

if st.session_state.get(SHOWN) is not choice or TYPED not in st.session_state:
    # A new result, an opened run, a change made in another tab of this session, or a return to this page:
    # the widgets show the threshold in force.
    st.session_state[TYPED] = choice.value
    st.session_state[METHOD] = choice.method if choice.method in methods else "value"
    st.session_state[SHOWN] = choice
    st.session_state[BOX_DRAWN] = None
    st.session_state.pop(RANGE, None)

method_column, parameter_column, typed_column, explanation_column = st.columns(
    [3, 2, 2, 5], vertical_alignment="bottom"
)
method = method_column.selectbox(
    method_field.label,
    methods,
    format_func=method_field.label_of,
    on_change=on_method_change,
    key=METHOD,
    help=method_field.help,
)
if method in METHOD_PARAMETER:
    name = METHOD_PARAMETER[method]
    spec = FIELDS[f"threshold.{name}"]
    if st.session_state.get(BOX_DRAWN) != name or WIDGET + name not in st.session_state:
        # A box not drawn in the last run shows the parameter of the threshold in use: Streamlit forgets (or keeps
        # a stale) value of a hidden widget, and a box without one would start at its lower limit (k = -100).
        st.session_state[WIDGET + name] = float(getattr(result.config.threshold, name))
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
st.session_state[BOX_DRAWN] = METHOD_PARAMETER.get(method)
explanation_column.info(choice.explanation, icon=":material/info:")
if THRESHOLD_ERROR in st.session_state:
    st.error(st.session_state[THRESHOLD_ERROR])

typed_column.number_input(
    "Exact value", format="%.6g", key=TYPED, on_change=on_typed, help="Type any threshold; the line follows."
)
threshold = result.threshold.value  # exact, whether it came from the line, the box or a method
point = summary.curve.at(threshold)
threshold_histogram.threshold_histogram(
    summary.browser_payload(),
    threshold,
    st.session_state.get(SEQ, 0),
    unit="timestamps" if result.data.kind == TIMESERIES else "samples",
    key=HISTOGRAM,
    on_release=on_line_released,
    on_range=on_range_selected,
)
if st.session_state.get(RANGE) is not None:
    x0, x1 = st.session_state[RANGE]
    in_range = summary.between(x0, x1)
    st.markdown(f"**{len(in_range):,} samples** with an error between {x0:.4g} and {x1:.4g}")
    st.dataframe(analysis.sample_table(result, in_range[:1000], threshold), hide_index=True, height=280)

if result.data.kind == TIMESERIES:
    timeline.event_cards(result)
    timeline.timeline_chart(result, threshold)

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
flagged_what = (
    f"flagged events ({point['n_flagged']:,} flagged timestamps)"
    if result.data.kind == TIMESERIES
    else f"{point['n_flagged']:,} flagged samples"
)
st.page_link(state.FLAGGED_PAGE, label=f"Inspect the {flagged_what}", icon=":material/flag:")
