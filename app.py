"""LoRA Target Explorer: entry point. Sets up navigation over the pages in ``pages/``.

Run with ``streamlit run app.py``. Each page starts with ``ui.page.begin`` and ends with
``ui.page.end`` (session state, sidebar, URL sync), so it also works when run on its own.
"""

import streamlit as st

from ui.page import PAGE_CONFIG

st.set_page_config(**PAGE_CONFIG)
PAGES = [
    st.Page("pages/model.py", title="Model", icon="🧠", default=True),
    st.Page("pages/tree.py", title="Module tree", icon="🌳"),
    st.Page("pages/targets.py", title="Targets", icon="🎯"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/export.py", title="Export", icon="📦"),
]
st.navigation(PAGES).run()
