"""LoRA Target Explorer: entry point. Sets up the pages and the shared session state.

Run with ``streamlit run app.py``. The pages live in ``pages/``; the state they share (model,
plan, saved plans) is in ``ui.state`` and mirrored to the URL after every run.
"""

import streamlit as st

from ui import state, widgets

st.set_page_config(page_title="LoRA Target Explorer", page_icon="🎯", layout="wide")
state.init()

PAGES = [
    st.Page("pages/model.py", title="Model", icon="🧠", default=True),
    st.Page("pages/tree.py", title="Module tree", icon="🌳"),
    st.Page("pages/targets.py", title="Targets", icon="🎯"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/export.py", title="Export", icon="📦"),
]
page = st.navigation(PAGES)
page.run()
widgets.sidebar_summary()
state.sync_query_params()
