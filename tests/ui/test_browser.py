"""The dashboard in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

One end-to-end walk: pick a preset, switch the FFN on, see the metric and the per-layer chart's
SVG change, save and compare two plans, export ``adapter_config.json`` and apply it with PEFT,
then visit every page at 1280 px (same session) and at 420 px (a fresh session per page from the
copied link, as a phone would open it) with no error element, writing screenshots to
``docs/screenshots/`` (or ``$LORA_EXPLORER_SCREENSHOTS``). AppTest cannot do this: it renders
no chart.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from peft import LoraConfig, get_peft_model

from lora_core.charts import per_layer_by_role
from lora_core.numbers import human
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from tests.browser_support import (ROOT, app_url, browser, error_texts, nav_link, save_png,  # noqa: F401
                                   set_full_height, signature, wait_changed, wait_idle)
from tests.helpers import cached_inventory, fresh_skeleton

PRESET = "Qwen/Qwen2.5-7B-Instruct"
FFN_KEYS = ("gate", "up", "down")
PAGES = {"Model": "model", "Module tree": "tree", "Targets": "targets", "Compare": "compare", "Export": "export"}
WIDTHS = (1280, 420)
SHOTS = Path(os.environ.get("LORA_EXPLORER_SCREENSHOTS", ROOT / "docs" / "screenshots"))
MAIN = '[data-testid="stMainBlockContainer"]'
LAYER_CHART = ".st-key-tg_chart_layers"
TIMEOUT = 30_000


def expected_plan() -> Plan:
    """The app's default plan (Q,V r8) with the FFN toggles switched on at their default rank 8."""
    return Plan(tuple(Target(k, 8) for k in ("q", "v", *FFN_KEYS)))


READY_JS = """([idle, title]) => !!document.querySelector(idle)
  && [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === title)
  && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))"""


def wait_page(page, title: str) -> None:
    """Wait until the page titled ``title`` is drawn: idle, its heading shown, every chart drawn."""
    page.wait_for_function(READY_JS, arg=['[data-testid="stApp"][data-test-script-state="notRunning"]', title],
                           timeout=TIMEOUT)
    page.wait_for_timeout(300)  # let Plotly finish laying out after the last delta


def open_page(page, title: str) -> None:
    """Click the sidebar link to ``title`` (keeps the session) and wait for the page to draw."""
    nav_link(page, title).click()
    wait_page(page, title)


def pick_preset(page, model_id: str) -> None:
    """Choose ``model_id`` in the Model page's preset selectbox and wait for its card."""
    before = signature(page, MAIN)
    page.locator('.st-key-model_preset [role="combobox"]').click()
    page.get_by_role("option", name=model_id, exact=True).click()
    wait_changed(page, MAIN, before, timeout=TIMEOUT)
    page.get_by_role("heading", name=model_id).wait_for(timeout=TIMEOUT)


def metric_value(page, label: str) -> str:
    """The shown value of the metric labelled ``label``."""
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def toggle_on(page, key: str, watch: str) -> None:
    """Switch toggle ``tg_on_<key>`` on and wait for the rerun to redraw ``watch``."""
    before = signature(page, watch)
    page.locator(f".st-key-tg_on_{key} label").click()
    wait_changed(page, watch, before, timeout=TIMEOUT)


def chart_traces(page, selector: str) -> dict[str, float]:
    """Each drawn Plotly trace's name and the sum of its y values, read off the graph div."""
    return page.evaluate(
        "(sel) => Object.fromEntries(document.querySelector(sel + ' .js-plotly-plot').data"
        ".map(t => [t.name, Array.from(t.y).reduce((a, b) => a + b, 0)]))", selector)


def svg_bars(page, selector: str) -> int:
    """How many bar rectangles the chart's SVG draws (all traces)."""
    return page.locator(f"{selector} .barlayer .point path").count()


def drawn_bar_names(page, selector: str) -> set[str]:
    """The legend entries of the chart's SVG bar traces (what the user sees drawn)."""
    return set(page.locator(f"{selector} .legend .legendtext").all_text_contents())


def save_plan(page, name: str) -> None:
    """On the Compare page, save the current plan as ``name`` and wait for the comparison chart."""
    page.locator(".st-key-cmp_name input").fill(name)
    page.locator(".st-key-cmp_name input").press("Enter")
    page.locator(".st-key-cmp_save").get_by_role("button", name="Save current plan").click()
    page.locator(".st-key-cmp_selected").get_by_text(name, exact=True).wait_for()
    page.wait_for_function(
        "([idle, name]) => !!document.querySelector(idle) && [...document.querySelectorAll("
        "'.st-key-cmp_chart_saved .js-plotly-plot')].some(g => (g.data || []).some(t => t.name === name))",
        arg=['[data-testid="stApp"][data-test-script-state="notRunning"]', name], timeout=TIMEOUT)


def shoot(page, slug: str, width: int) -> list[str]:
    """Screenshot the current page full-height at ``width``; return its error texts."""
    set_full_height(page, width)
    page.mouse.move(width - 2, 2)  # no hover effects (heading anchors, tooltips) in the shot
    save_png(page.screenshot(), SHOTS / f"{slug}-{width}.png")
    return error_texts(page)


def shoot_wide(page) -> dict[str, list[str]]:
    """Every page of this session at 1280 px, by the sidebar links; error texts by page."""
    errors = {}
    for title, slug in PAGES.items():
        page.set_viewport_size({"width": WIDTHS[0], "height": 800})
        open_page(page, title)
        errors[f"{title} @ {WIDTHS[0]}px"] = shoot(page, slug, WIDTHS[0])
    return errors


def shoot_narrow(browser, app_url: str, query: str, trainable: str) -> dict[str, list[str]]:  # noqa: F811
    """Every page as a phone opening a copied link: a fresh session at 420 px per page.

    Loading narrow (rather than shrinking a wide window) shows what a phone shows. The link must
    restore the model and plan (the Targets metric is checked); Compare saves the plan first.
    """
    page = browser.new_page(viewport={"width": WIDTHS[1], "height": 800})
    page.set_default_timeout(TIMEOUT)
    errors = {}
    for title, slug in PAGES.items():
        page.goto(f"{app_url}/{slug}?{query}")
        wait_page(page, title)
        if slug == "targets":
            assert metric_value(page, "Trainable parameters") == trainable
        if slug == "compare":
            save_plan(page, "Q,V + FFN r8")
        errors[f"{title} @ {WIDTHS[1]}px"] = shoot(page, slug, WIDTHS[1])
    page.close()
    return errors


def test_dashboard_end_to_end(browser, app_url, tmp_path):  # noqa: F811 (pytest fixtures)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT)
    page.goto(app_url)
    page.get_by_test_id("stMetric").first.wait_for()
    wait_idle(page)
    pick_preset(page, PRESET)
    open_page(page, "Compare")
    save_plan(page, "Q,V r8")

    open_page(page, "Targets")
    page.locator(f"{LAYER_CHART} .main-svg").first.wait_for()
    metric_before = metric_value(page, "Trainable parameters")
    drawn_before = drawn_bar_names(page, LAYER_CHART)
    bars_before = svg_bars(page, LAYER_CHART)
    for key in FFN_KEYS:
        toggle_on(page, key, LAYER_CHART)

    index = PlanIndex(cached_inventory(PRESET))
    plan = expected_plan()
    want = count(plan, index)
    per_layer = per_layer_by_role(resolve_plan(plan, index)).groupby("role")["lora_params"].sum()
    assert metric_value(page, "Trainable parameters") == human(want.trainable) != metric_before
    assert drawn_before == {"q", "v"}
    assert drawn_bar_names(page, LAYER_CHART) == {"q", "v", *FFN_KEYS}
    layers = index.num_layers
    assert (bars_before, svg_bars(page, LAYER_CHART)) == (2 * layers, 5 * layers)
    assert chart_traces(page, LAYER_CHART) == {role: float(n) for role, n in per_layer.items()}

    open_page(page, "Compare")
    save_plan(page, "Q,V + FFN r8")
    compared = chart_traces(page, ".st-key-cmp_chart_saved")
    assert compared == {"Q,V r8": float(count(Plan((Target("q", 8), Target("v", 8))), index).lora),
                        "Q,V + FFN r8": float(want.lora)}

    open_page(page, "Export")
    button = page.get_by_test_id("stDownloadButton").filter(has_text="adapter_config.json").first
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "adapter_config.json"
    download.value.save_as(tmp_path / "adapter_config.json")
    config = LoraConfig.from_pretrained(str(tmp_path))
    peft_model = get_peft_model(fresh_skeleton(PRESET).model, config, low_cpu_mem_usage=True)
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert (trainable, total) == (want.trainable, want.all_params)
    page.locator(".st-key-ex_verify").get_by_role("button", name="Verify with PEFT").click()
    verified = page.get_by_test_id("stAlertContentSuccess").filter(has_text="PEFT trains exactly")
    assert f"{want.trainable:,}" in verified.inner_text()

    errors = shoot_wide(page) | shoot_narrow(browser, app_url, urlsplit(page.url).query, human(want.trainable))
    assert errors == {name: [] for name in errors}
    written = {p.name for p in SHOTS.glob("*.png")}
    assert {f"{s}-{w}.png" for s in PAGES.values() for w in WIDTHS} <= written
    page.close()
