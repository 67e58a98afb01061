"""What every page does first and last, so a page works however Streamlit runs it.

With a ``pages/`` folder next to ``app.py``, Streamlit may run a page file directly (AppTest's
reruns do, and so does a fresh server whose first request is a page URL), skipping ``app.py``.
So each page calls :func:`begin` (page config, session init) and :func:`end` (sidebar summary,
URL sync) itself; both are idempotent.
"""

from __future__ import annotations

import streamlit as st

from . import state, widgets

PAGE_CONFIG = dict(page_title="LoRA Target Explorer", page_icon="🎯", layout="wide")


def begin(title: str) -> None:
    """Page config, session state from the URL on a session's first run, the title, queued notices."""
    st.set_page_config(**PAGE_CONFIG)
    state.init()
    st.title(title)
    state.show_flash()


def end() -> None:
    """The sidebar summary and the URL, after the page has drawn."""
    widgets.sidebar_summary()
    state.sync_query_params()
