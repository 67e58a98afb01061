"""Open an axolotl YAML on the Export page in a real browser; the Module tree lights what it trains.

The YAML (k_proj, o_proj, down_proj at r=16 on Llama-3.1-8B) is uploaded through the page's file
input, opened, and used as the plan; then the Module tree page's layer diagram shows those three
blocks at r16 and q_proj / v_proj (the default plan's) frozen, and its trainable metric is the
import's count. Reuses ``tests/browser_support.py`` (Chromium, one server).
"""

from __future__ import annotations

from urllib.parse import quote

from lora_core.numbers import human
from lora_core.imports import read_text, state
from tests.browser_support import app_url, browser, error_texts, nav_link, wait_idle  # noqa: F401
from tests.helpers import cached_inventory, cached_skeleton
from tests.import_cases import LLAMA, ax
from tests.ui.test_browser_tree import READY_JS, TIMEOUT, metric

YAML = ax(LLAMA, lora_r=16, lora_alpha=32, lora_target_modules=["k_proj", "o_proj", "down_proj"])
SLOW = 2 * TIMEOUT  # the machine may be shared: opening the recipe builds the model's statement
BLOCKS_JS = """() => {
  const gd = document.querySelector('[class*="st-key-tree_diagram_"] .js-plotly-plot');
  return gd.data[0].text.map(s => s.replace(/<[^>]+>/g, ' ').trim());
}"""


def test_an_imported_yaml_lights_its_modules_in_the_tree(browser, app_url, tmp_path):  # noqa: F811
    report = state(read_text(YAML), cached_inventory(LLAMA), cached_skeleton(LLAMA), LLAMA)
    path = tmp_path / "llama-kod.yml"
    path.write_text(YAML)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(SLOW)
    page.goto(f"{app_url}/export?model={quote(LLAMA)}")
    page.get_by_text("Open a recipe", exact=True).wait_for()
    wait_idle(page, SLOW)
    page.locator('[class*="st-key-ex_recipe_file"] input[type="file"]').first.set_input_files(str(path))
    wait_idle(page, SLOW)
    page.get_by_role("button", name="Open recipe").click()
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_text("Units it trains", exact=True))
    card.wait_for()
    wait_idle(page, SLOW)
    assert card.get_by_test_id("stMetricValue").inner_text().strip() == f"{len(report.units):,}"
    page.locator('[class*="st-key-ex_recipe_apply"] button').first.click()
    page.get_by_text("It is the current plan", exact=False).wait_for()
    nav_link(page, "Module tree").click()
    page.wait_for_function(READY_JS, timeout=SLOW)
    page.wait_for_timeout(500)  # Plotly lays out after the last delta
    blocks = {text.split(" ")[0]: text for text in page.evaluate(BLOCKS_JS)}
    for lit in ("k_proj", "o_proj", "down_proj"):
        assert "r16" in blocks[lit], blocks
    for dark in ("q_proj", "v_proj", "gate_proj", "up_proj"):
        assert "frozen" in blocks[dark], blocks
    assert metric(page) == human(report.trainable)
    assert error_texts(page) == []
    page.close()
