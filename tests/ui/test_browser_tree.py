"""The Module tree page in a real browser: click to target in the tree and in the layer diagram.

On Llama-3.1-8B (default plan Q,V r8) the icicle opens at the folded layers; open ``self_attn``,
click ``v_proj`` (its role ``v`` goes off), then click ``down_proj`` in the layer diagram (``down``
goes on at rank 8); after each click the page's trainable metric equals lora_core's count of
the resulting plan, and the URL carries the plan. Then every model of ``SHOTS`` is opened from
a link at 1280 and 420 px with no error element and screenshotted to ``docs/screenshots``
(``tree-<model>-<width>.png``). Reuses ``tests/browser_support.py`` (Chromium, one server).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from lora_core.numbers import human
from lora_core.planning import Plan, PlanIndex, Target, count
from tests.browser_support import (ROOT, app_url, browser, error_texts, save_png,  # noqa: F401
                                   set_full_height, signature, wait_changed)
from tests.helpers import cached_inventory

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
SHOT_MODELS = {
    "llama-3.1-8b": LLAMA, "gpt2": "openai-community/gpt2", "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "flan-t5-base": "google/flan-t5-base", "llava-1.5-7b": "llava-hf/llava-1.5-7b-hf",
}
WIDTHS = (1280, 420)
SHOTS = Path(os.environ.get("LORA_EXPLORER_SCREENSHOTS", ROOT / "docs" / "screenshots"))
TIMEOUT = 60_000
METRIC = '[data-testid="stMetric"]'
ICICLE = '[class*="st-key-tree_icicle_"]'
DIAGRAM = '[class*="st-key-tree_diagram_"]'
READY_JS = """() => !!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
  && [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === 'Module tree')
  && document.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length >= 2"""
# Centre, in page pixels, of the diagram block whose label starts with ``label`` (trace 0 = clickable blocks).
BLOCK_JS = """(label) => {
  const gd = document.querySelector('[class*="st-key-tree_diagram_"] .js-plotly-plot');
  const t = gd.data[0], L = gd._fullLayout, box = gd.getBoundingClientRect();
  const i = t.text.findIndex(s => s.startsWith('<b>' + label + '</b>'));
  if (i < 0) return null;
  return [box.left + L._size.l + L.xaxis.l2p(t.x[i]), box.top + L._size.t + L.yaxis.l2p(t.y[i])];
}"""


def wait_page(page) -> None:
    page.wait_for_function(READY_JS, timeout=TIMEOUT)
    page.wait_for_timeout(500)  # Plotly lays out after the last delta


def metric(page) -> str:
    """The shown value of the page's "Trainable parameters" metric."""
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(
        "Trainable parameters", exact=True))
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def click_slice(page, label: str) -> None:
    """Click the icicle box labelled ``label`` and wait for the rerun to redraw the tree."""
    before = signature(page, ICICLE)
    text = page.locator(f"{ICICLE} g.slice").filter(has=page.locator("text.slicetext", has_text=re.compile(
        rf"^{re.escape(label)}")))
    text.first.locator("path.surface").click(force=True)
    wait_changed(page, '[data-testid="stMainBlockContainer"]', before, timeout=TIMEOUT)
    wait_page(page)


def click_block(page, label: str) -> None:
    """Click the diagram block labelled ``label`` and wait for the metrics to change."""
    set_full_height(page, page.viewport_size["width"])  # the block must be inside the viewport to click
    before = signature(page, METRIC)
    xy = page.evaluate(BLOCK_JS, label)
    assert xy, f"no block {label!r} in the diagram"
    page.mouse.click(*xy)
    wait_changed(page, METRIC, before, timeout=TIMEOUT)
    wait_page(page)


def expected(*keys: str) -> str:
    return human(count(Plan(tuple(Target(k, 8) for k in keys)), PlanIndex(cached_inventory(LLAMA))).trainable)


def test_click_to_target_in_tree_and_diagram(browser, app_url):  # noqa: F811 (pytest fixtures)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{app_url}/tree?model={quote(LLAMA)}")
    wait_page(page)
    assert metric(page) == expected("q", "v")
    assert page.get_by_text("Showing whole model › model › layers 0–31 × 32").count() == 1  # opens at the drawn layer
    click_slice(page, "self_attn")
    before = signature(page, METRIC)
    click_slice(page, "v_proj")
    wait_changed(page, METRIC, before, timeout=TIMEOUT)
    assert metric(page) == expected("q")
    click_block(page, "down_proj")
    assert metric(page) == expected("q", "down")
    assert parse_qs(urlsplit(page.url).query)["t"] == ["q=8,down=8"]
    assert error_texts(page) == []
    page.close()


def test_tree_screenshots(browser, app_url):  # noqa: F811
    errors = {}
    for slug, model in SHOT_MODELS.items():
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(TIMEOUT)
            page.goto(f"{app_url}/tree?model={quote(model)}")
            wait_page(page)
            set_full_height(page, width)
            page.mouse.move(width - 2, 2)
            save_png(page.screenshot(), SHOTS / f"tree-{slug}-{width}.png")
            errors[f"{slug} @ {width}"] = error_texts(page)
            page.close()
    assert errors == {k: [] for k in errors}
