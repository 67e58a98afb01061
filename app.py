"""LoRA Target Explorer: entry point. Sets up navigation over the pages in ``pages/``.

Run with ``streamlit run app.py``. Each page starts with ``ui.common.page.begin`` and ends with
``ui.common.page.end`` (session state, sidebar links, URL sync), so it also works when Streamlit runs
it on its own (it does for a ``pages/`` folder before ``st.navigation`` has run once).

This file is both the app's script and its ASGI app. ``streamlit run app.py`` imports it as a module and serves ``app``, a ``st.App`` whose lifespan runs before
the server accepts a connection (``ui.startup``: Nagle off on every connection, and the imports
and preset models warmed so the first visitor does not wait); Streamlit then runs it as the
script of each session, where ``__name__`` is ``"__main__"``.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.common.page import PAGE_CONFIG, PAGES

    st.set_page_config(**PAGE_CONFIG)
    pages = [st.Page(path, title=title, icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(PAGES)]
    st.navigation(pages, position="hidden").run()
else:
    from ui.startup import lifespan

    app = st.App(__file__, lifespan=lifespan)
