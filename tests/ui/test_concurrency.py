"""Many users at once: one ``streamlit run`` server, twenty real websocket sessions.

Each session opens the app with its own model and plan (in the link's query string, as a shared
link would), all at the same time; then all rerun at once with no query string, so what they
show can only come from their own session state. No session may ever show another's model or
plan, and none may show an error. Traffic stays on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.st_client import Run, WsSession, streamlit_server

SESSIONS = 20
MODELS = ("openai-community/gpt2", "google-bert/bert-base-uncased", "google/flan-t5-base",
          "meta-llama/Meta-Llama-3.1-8B")


def session_spec(i: int) -> tuple[str, str]:
    """Session ``i``'s model and plan: models rotate, the rank (hence the plan) is unique."""
    return MODELS[i % len(MODELS)], f"q={i + 1},v={i + 1}"


def query(i: int) -> str:
    model, plan = session_spec(i)
    return urlencode({"model": model, "t": plan})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with streamlit_server() as (port, _proc):
        yield port


async def _all_sessions(port: int) -> tuple[list[Run], list[Run]]:
    """Twenty sessions: all open their link at once, then all rerun at once without it."""
    sessions = [WsSession(port) for _ in range(SESSIONS)]
    for s in sessions:
        await s.__aenter__()
    try:
        first = await asyncio.gather(*(s.rerun(query(i)) for i, s in enumerate(sessions)))
        second = await asyncio.gather(*(s.rerun("") for s in sessions))
    finally:
        for s in sessions:
            await s.__aexit__(None, None, None)
    return list(first), list(second)


def assert_own(run: Run, i: int) -> None:
    model, plan = session_spec(i)
    assert run.model == f"**{model}**", (i, run.model)
    assert run.plan is not None and run.plan.startswith(f"`{plan}`"), (i, run.plan)
    assert run.failures == [], (i, run.failures)


def test_twenty_concurrent_sessions_keep_their_own_model_and_plan(port: int) -> None:
    first, second = asyncio.run(_all_sessions(port))
    for i, run in enumerate(first):
        assert_own(run, i)
    for i, run in enumerate(second):
        assert_own(run, i)
    shown = {(r.model, r.plan) for r in second}
    assert len(shown) == SESSIONS  # twenty different views, none borrowed from another session


async def _open_and_click(port: int) -> tuple[WsSession, Run, Run, Run, str]:
    async with WsSession(port) as s:
        await s.rerun(query(3))  # Llama-3.1-8B, q=4,v=4
        full = await s.rerun(s.query_string, page="targets")
        on = await s.click("tg_on_o", True)
        url_on = s.query_string
        off = await s.click("tg_on_o", False)
        return s, full, on, off, url_on


def test_a_targets_click_reruns_the_page_body_and_the_sidebar_and_url_follow(port: int) -> None:
    s, full, on, off, url_on = asyncio.run(_open_and_click(port))
    assert s.widgets["tg_on_o"].fragment_id  # the toggle sits in the page's fragment
    assert on.plan is not None and on.plan.startswith("`q=4,v=4,o=8`"), on.plan  # a new toggle starts at r8
    assert off.plan is not None and off.plan.startswith("`q=4,v=4`"), off.plan
    assert "t=q%3D4%2Cv%3D4%2Co%3D8" in url_on  # the URL follows each click
    assert "t=q%3D4%2Cv%3D4" in s.query_string and "o%3D" not in s.query_string
    assert on.failures == [] and off.failures == []
    assert on.elements < full.elements  # only the fragment was rerun: no page config, navigation, links
    assert "Current model" in on.texts  # ... but the sidebar summary is redrawn by the fragment
