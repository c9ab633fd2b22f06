"""Compare runs: two to five saved runs side by side: loss curves, ROC and PR curves, metrics, differing settings."""

import streamlit as st

from core.errors import StudioError
from ui import engine, state

with st.spinner("Loading TensorFlow…"):
    engine.load()
    from core import compare, compare_figures
    from core.run_titles import titles
    from core.runs import list_runs, runs_root


@st.cache_data(max_entries=8, show_spinner="Reading the runs…")
def load_runs(paths: tuple[str, ...], versions: tuple) -> dict:
    """What the runs at `paths` saved; `versions` (created, revision of each) tells an updated run from the one
    cached."""
    return compare.load_runs(paths)


st.title("Compare runs")
st.caption(f"Saved runs in {runs_root().resolve()}")

runs = list_runs()
names = titles(runs)  # {folder path: title}
usable = {names[str(summary.path)]: summary for summary in runs if not summary.damaged}
damaged = [summary for summary in runs if summary.damaged]
if damaged:
    with st.expander(f"{len(damaged)} damaged run{'s' if len(damaged) > 1 else ''} cannot be compared"):
        st.markdown("\n".join(f"- **{names[str(summary.path)]}**: {summary.damaged}" for summary in damaged))
if len(usable) < compare.MIN_RUNS:
    st.info(
        f"Comparing needs at least {compare.MIN_RUNS} saved runs; there {'is' if len(usable) == 1 else 'are'} "
        f"{len(usable)}. Train a model and press **Save run**, then change a setting and save another."
    )
    st.page_link(state.TRAIN_PAGE, label="Train a model", icon=":material/model_training:")
    st.stop()


def described(name: str) -> str:
    summary = usable[name]
    auroc = f" · AUROC {summary.auroc:.3f}" if summary.auroc is not None else ""
    return f"{name}{auroc}"


chosen = st.multiselect(
    "Runs",
    list(usable),
    format_func=described,
    max_selections=compare.MAX_RUNS,
    placeholder=f"Choose {compare.MIN_RUNS} to {compare.MAX_RUNS} runs",
)
if len(chosen) < compare.MIN_RUNS:
    st.info(f"Choose at least {compare.MIN_RUNS} runs (at most {compare.MAX_RUNS}) to compare them.")
    st.stop()

try:
    by_folder = load_runs(
        tuple(str(usable[name].path) for name in chosen),
        tuple((usable[name].created, usable[name].revision) for name in chosen),
    )
except StudioError as exc:
    st.error(str(exc))
    st.stop()
outcomes = {name: by_folder[usable[name].name] for name in chosen}  # by the names the user reads

st.subheader("Metrics")
st.dataframe(
    compare.metrics_table(outcomes),
    hide_index=True,
    column_config={
        column: st.column_config.NumberColumn(column, format="%.3f")
        for column in ("AUROC", "AP", "precision", "recall", "F1")
    }
    | {"threshold": st.column_config.NumberColumn("threshold", format="%.4g")},
)

st.subheader("Settings that differ")
differences = compare.config_differences({name: outcome.config for name, outcome in outcomes.items()})
if differences.empty:
    st.info("These runs were trained with the same settings.")
else:
    st.dataframe(differences, hide_index=True)

colors = compare_figures.run_colors(outcomes)
st.plotly_chart(
    compare_figures.loss_overlay({name: outcome.history for name, outcome in outcomes.items()}, colors),
    key="compare_loss",
)
roc, pr = compare.curves(outcomes)
without = [name for name in outcomes if name not in roc]
if without:
    st.info(
        f"No ROC or precision–recall curve for {', '.join(without)}: "
        "its scored samples are not labelled as both normal and anomalous.",
        icon=":material/info:",
    )
if roc:
    roc_column, pr_column = st.columns(2)
    roc_column.plotly_chart(compare_figures.roc_overlay(roc, colors), key="compare_roc")
    pr_column.plotly_chart(compare_figures.pr_overlay(pr, colors), key="compare_pr")
