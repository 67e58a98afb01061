"""LoRA Target Explorer: entry point. Sets up navigation over the pages in ``pages/``.

Run with ``streamlit run app.py``. Each page starts with ``ui.common.page.begin`` and ends with
``ui.common.page.end`` (session state, sidebar links, URL sync), so it also works when Streamlit runs
it on its own (it does for a ``pages/`` folder before ``st.navigation`` has run once).
"""

import streamlit as st

from ui.common.page import PAGE_CONFIG, PAGES

st.set_page_config(**PAGE_CONFIG)
pages = [st.Page(path, title=title, icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(PAGES)]
st.navigation(pages, position="hidden").run()
