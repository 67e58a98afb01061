"""Shared AppTest helpers for the tests/ui/test_app_*.py files.

Pages are addressed by file; widgets by their explicit keys. The skeletons are cached per
process by ``st.cache_resource``, so each preset is built once per test run.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lora_core.planning import Plan, PlanIndex, count
from ui.common.loaded_model import ModelRef, load

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ("pages/model.py", "pages/tree.py", "pages/targets.py", "pages/compare.py", "pages/export.py",
         "pages/lesson.py")
DEFAULT = "meta-llama/Meta-Llama-3.1-8B"


def open_app(page: str | None = None, **query: str) -> AppTest:
    """A fresh AppTest session (with query parameters), optionally switched to ``page``."""
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def plan_of(at: AppTest) -> Plan:
    """The session's current plan."""
    return at.session_state["plan"]


def model_of(at: AppTest) -> ModelRef:
    """The session's current model reference."""
    return at.session_state["model_ref"]


def index_of(at: AppTest) -> PlanIndex:
    """The current model's plan index (the same cached object the app uses)."""
    return load(model_of(at)).index


def metric(at: AppTest, label: str):
    """The metric element with this label."""
    return next(m for m in at.metric if m.label == label)


def shown_trainable(at: AppTest) -> int:
    """The exact trainable count the Targets page shows (in the metric's hover help)."""
    help_text = metric(at, "Trainable parameters").help
    return int(help_text.split()[1].replace(",", ""))


def expected_trainable(at: AppTest) -> int:
    """lora_core's count for the session's plan on its model."""
    return count(plan_of(at), index_of(at)).trainable


def errors(at: AppTest) -> list[str]:
    """Texts of the st.error elements on the page."""
    return [e.value for e in at.error]


def open_section(at: AppTest, key: str) -> AppTest:
    """Open a lazily drawn expander (``ui.targets.lazy``: ``tg_cl_open``, ``tg_mem_knobs_open``) and rerun."""
    at.session_state[key] = True
    return at.run()
