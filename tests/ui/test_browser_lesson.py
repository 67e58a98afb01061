"""The Lesson page in a real browser (Chromium via Playwright against ``streamlit run``).

Walks the whole lesson with the Next button on a dense model (Llama-3.1-8B) and on an MoE model
(Qwen3-30B-A3B), answering a predict-then-reveal question on each (the trainable count on the
first, whether training fits on 24 GB on the second) and checking the revealed answer against
lora_core; checks the URL carries the step and the model at every step; opens a teacher's link in
presenter view; screenshots three steps at 1280 and 420 px into ``docs/screenshots/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from playwright.sync_api import expect

from lora_core.lesson.steps import load_steps, on_model, step_by_id
from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.planning import PlanIndex, count
from tests.browser_support import (ROOT, app_url, browser, error_texts, save_png,  # noqa: F401
                                   set_full_height, wait_idle)
from tests.helpers import cached_inventory, cached_skeleton

STEPS = load_steps()
DENSE, MOE = "meta-llama/Meta-Llama-3.1-8B", "Qwen/Qwen3-30B-A3B"
SHOTS = Path(os.environ.get("LORA_EXPLORER_SCREENSHOTS", ROOT / "docs" / "screenshots"))
SHOT_STEPS = {"qv-r8": DENSE, "equal-budget": DENSE, "moe": MOE}
WIDTHS = (1280, 420)
TIMEOUT = 30_000

READY_JS = """([idle, heading]) => !!document.querySelector(idle)
  && [...document.querySelectorAll('h2')].some(h => h.innerText.trim() === heading)
  && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))"""


def heading(step_id: str) -> str:
    step = step_by_id(STEPS, step_id)
    return f"{STEPS.index(step) + 1}. {step.title}"


def wait_step(page, step_id: str) -> None:
    """Wait until ``step_id`` is drawn: idle, its heading shown, every chart drawn."""
    page.wait_for_function(READY_JS, arg=['[data-testid="stApp"][data-test-script-state="notRunning"]',
                                          heading(step_id)], timeout=TIMEOUT)
    page.wait_for_timeout(300)


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def reveal(page, step_id: str) -> str:
    """Click Reveal and return the answer's text once it shows."""
    page.locator(".st-key-ls_reveal button").click()
    answer = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Answer:")
    answer.wait_for(timeout=TIMEOUT)
    wait_step(page, step_id)
    return answer.inner_text()


def walk(page, model_id: str, predict_at: str) -> dict[str, list[str]]:
    """Every step by the Next button; answer the question at ``predict_at``; error texts by step."""
    index = PlanIndex(cached_inventory(model_id))
    errors = {}
    for i, step in enumerate(STEPS):
        if i:
            page.locator(".st-key-ls_next button").click()
        wait_step(page, step.id)
        assert query(page)["step"] == step.id and query(page)["model"] == model_id
        assert query(page)["t"] == ",".join(f"{t.key}={t.rank}" for t in on_model(step, index).plan.targets)
        if step.id == predict_at == "qv-r8":
            truth = count(on_model(step, index).plan, index).trainable
            assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # hidden until revealed
            page.locator(".st-key-ls_guess_qv-r8 input").fill("1M")
            page.locator(".st-key-ls_guess_qv-r8 input").press("Enter")
            wait_idle(page)
            said = reveal(page, step.id)
            assert f"{truth:,}" in said and f"{truth / 1e6:.1f}× too low" in said
            page.locator(".st-key-ls_chart_layers .main-svg").first.wait_for()  # the chart comes with the answer
        if step.id == predict_at == "memory":
            plan = on_model(step, index).plan
            fits = estimate_for_plan(cached_skeleton(model_id), index, plan, MemorySettings()).fits(24)
            page.locator(".st-key-ls_guess_memory").get_by_text("Yes, it fits").click()
            wait_idle(page)
            said = reveal(page, step.id)
            assert ("yes:" in said) == fits and said.rstrip().endswith("right." if fits else "wrong.")
        if step.id == "moe" and model_id == MOE:
            page.get_by_text("The routed experts take").wait_for()  # the table is a canvas: read its caption
        if step.id == "moe" and model_id == DENSE:
            page.get_by_text("This model is dense").wait_for()
        errors[f"{model_id} {step.id}"] = error_texts(page)
    return errors


def test_walk_the_lesson_on_a_dense_and_an_moe_model(browser, app_url):  # noqa: F811
    errors = {}
    for model_id, predict_at in ((DENSE, "qv-r8"), (MOE, "memory")):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT)
        page.goto(f"{app_url}/lesson?model={quote(model_id)}&step={STEPS[0].id}")
        errors |= walk(page, model_id, predict_at)
        page.close()
    assert errors == {k: [] for k in errors}


def test_teacher_link_opens_presenter_view(browser, app_url):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{app_url}/?model={quote(MOE)}&step=equal-budget&view=present")  # entry page: goes to the lesson
    wait_step(page, "equal-budget")
    assert query(page) == {**query(page), "model": MOE, "step": "equal-budget", "view": "present"}
    # the presenter's style arrives with the page's script run: wait for it rather than sample once
    expect(page.get_by_test_id("stSidebar")).to_be_hidden(timeout=TIMEOUT)
    size_js = ("() => parseFloat(getComputedStyle(document.querySelector("
               "'[data-testid=\"stMainBlockContainer\"] p')).fontSize)")
    page.wait_for_function(f"({size_js})() >= 24", timeout=TIMEOUT)
    assert page.evaluate(size_js) >= 24
    assert error_texts(page) == []
    page.close()


def test_lesson_screenshots(browser, app_url):  # noqa: F811
    errors = {}
    for step_id, model_id in SHOT_STEPS.items():
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(TIMEOUT)
            page.goto(f"{app_url}/lesson?model={quote(model_id)}&step={step_id}")
            wait_step(page, step_id)
            if step_id == "qv-r8":
                page.locator(".st-key-ls_guess_qv-r8 input").fill("2M")
                page.locator(".st-key-ls_guess_qv-r8 input").press("Enter")
                wait_idle(page)
                reveal(page, step_id)
            page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
            set_full_height(page, width)
            page.wait_for_timeout(500)
            set_full_height(page, width)  # again, once the tables and charts have their final height
            page.mouse.move(width - 2, 2)
            save_png(page.screenshot(), SHOTS / f"lesson-{step_id}-{width}.png")
            errors[f"{step_id} @ {width}"] = error_texts(page)
            page.close()
    assert errors == {k: [] for k in errors}
