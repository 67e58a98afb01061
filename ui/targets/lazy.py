"""An expander whose content runs only while it is open (the Targets page's closed-by-default sections).

``st.expander(..., on_change="rerun")`` makes Streamlit track whether it is open and rerun (the
page's fragment) when the user opens or closes it, so a closed section costs one element per
click instead of building, sending and drawing its widgets, figures and tables. A plain session
key keeps whether the section was open across a visit to another page.

Streamlit drops a widget's value after a run that does not draw it (a closed section, another
page), and a value the script writes under a widget's key in a run that does not draw the widget
outlives it: later, when the widget is gone again, ``st.session_state[key]`` answers with that old
value. So a section's widget keys are written only in runs that draw them (just before), and its
values are read from a plain copy while it is closed.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

SAVED_PREFIX = "open:"  # plain session keys: ``open:<expander key>`` -> bool


def section(label: str, key: str) -> DeltaGenerator | None:
    """The expander ``key`` (closed the first time), or ``None`` when it is closed: draw into it only then."""
    ss = st.session_state
    if key not in ss:  # first visit, or back from another page: as the user left it
        ss[key] = ss.get(SAVED_PREFIX + key, False)
    box = st.expander(label, key=key, on_change="rerun")
    ss[SAVED_PREFIX + key] = bool(box.open)
    return box if box.open else None

