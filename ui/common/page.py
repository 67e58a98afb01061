"""What every page does first and last, so a page works however Streamlit runs it.

With a ``pages/`` folder next to ``app.py``, Streamlit may run a page file directly (AppTest's
reruns do, and so does a fresh server whose first request is a page URL), skipping ``app.py``.
So each page calls :func:`begin` (page config, session init) and :func:`end` (sidebar summary,
URL sync) itself; both are idempotent.
"""

from __future__ import annotations

import streamlit as st

from lora_core.planning import PlanCount

from . import state, widgets

PAGE_CONFIG = dict(page_title="LoRA Target Explorer", page_icon="🎯", layout="wide")
PAGES: tuple[tuple[str, str, str], ...] = (
    ("pages/model.py", "Model", "🧠"),
    ("pages/tree.py", "Module tree", "🌳"),
    ("pages/targets.py", "Targets", "🎯"),
    ("pages/compare.py", "Compare", "⚖️"),
    ("pages/export.py", "Export", "📦"),
    ("pages/lesson.py", "Lesson", "🎓"),
)


def sidebar_links() -> None:
    """The page links, drawn by the page itself so they look the same however it was run."""
    with st.sidebar:
        st.markdown("### 🎯 LoRA Target Explorer")
        for path, title, icon in PAGES:
            st.page_link(path, label=title, icon=icon)
        st.divider()


LESSON_PAGE = "pages/lesson.py"


def begin(title: str, path: str | None = None) -> None:
    """Page config, session state from the URL on a session's first run, the title, queued notices.

    A session's first request that names a lesson step (``?step=...``) on another page (the
    entry page of a link without the page's path) goes to the Lesson page (``path``: this page's)."""
    st.set_page_config(**PAGE_CONFIG)
    if state.init() and "step" in st.query_params and path != LESSON_PAGE:
        st.switch_page(LESSON_PAGE, query_params={k: st.query_params[k] for k in st.query_params})
    sidebar_links()
    st.title(title)
    state.show_flash()


def end(count: PlanCount | None = None, params: dict[str, str] | None = None) -> None:
    """The sidebar summary and the URL, after the page has drawn (``count``: the current plan's
    count, when the page has it already). A page drawn in an ``st.fragment`` calls this inside
    the fragment, so the summary and the URL follow the fragment's reruns. ``params``: the page's
    own URL parameters beside the model and plan (the Lesson page's step)."""
    widgets.sidebar_summary(count)
    state.sync_query_params(params)
