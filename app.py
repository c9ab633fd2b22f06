"""Anomaly Studio: find anomalies with autoencoders. Start with `streamlit run app.py`.

This entry point only wires the pages together and attaches the browser session to its workspace
(ui.state). It must stay free of TensorFlow imports so the home page paints at once; the server's first
script run starts warming up in the background (ui.engine.warm_up: what Train needs, TensorFlow, a first
training; UMAP once a model exists), and pages that need TensorFlow before that is done import it themselves.
"""

import streamlit as st

from ui import engine, state

st.set_page_config(page_title="Anomaly Studio", page_icon=":material/troubleshoot:", layout="wide")
engine.warm_up()

state.collect_finished_job()

page = st.navigation(
    [
        st.Page(state.HOME_PAGE, title="Home", icon=":material/home:", default=True),
        st.Page(state.DATASET_PAGE, title="Dataset", icon=":material/dataset:"),
        st.Page(state.TRAIN_PAGE, title="Train", icon=":material/model_training:"),
        st.Page(state.THRESHOLD_PAGE, title="Threshold", icon=":material/tune:"),
        st.Page(state.FLAGGED_PAGE, title="Flagged", icon=":material/flag:"),
        st.Page(state.SCORE_SAMPLE_PAGE, title="Score a sample", icon=":material/draw:"),
        st.Page(state.LATENT_PAGE, title="Latent map", icon=":material/scatter_plot:"),
        st.Page(state.RUNS_PAGE, title="Runs", icon=":material/folder_open:"),
        st.Page(state.COMPARE_PAGE, title="Compare runs", icon=":material/compare_arrows:"),
    ]
)
state.sidebar_summary()
page.run()
