"""The Targets page's "GPUs, time and cost" section in a real browser.

The section is an expander, closed by default, whose content the server builds only once it is
opened: the test opens it as a user does (a click on its header). On Llama-3.1-405B and
DeepSeek-V3 (default plan Q,V r8) it then shows a strategy and GPU count that fits; on GPT-2,
choosing DeepSpeed ZeRO-3 and 4 GPUs makes the per-GPU figure, the chart (one line per strategy,
the GPU's capacity drawn) and the time line equal lora_core's for that plan. Reuses
``tests/browser_support.py`` (Chromium, one server for the module).
"""

from __future__ import annotations

from urllib.parse import quote

from lora_core.compute.report import ClusterSettings, cluster_report
from lora_core.memory import GIB, MemorySettings, estimate_for_plan
from lora_core.memory.parallel import STRATEGIES, model_sizes, strategies_for
from lora_core.planning import PRESET_PLANS, PlanIndex, resolve
from tests.browser_support import app_url, browser, error_texts, signature, wait_changed  # noqa: F401
from tests.helpers import cached_model
from ui.common.state import DEFAULT_PLAN_NAME

MODEL, MOE, SMALL = "meta-llama/Meta-Llama-3.1-405B", "deepseek-ai/DeepSeek-V3", "openai-community/gpt2"
TIMEOUT = 120_000
SECTION = '[data-testid="stMain"]'
CHART = ".st-key-tg_chart_cluster"
IDLE = "!!document.querySelector('[data-testid=\"stApp\"][data-test-script-state=\"notRunning\"]')"
CLOSED_JS = f"() => {IDLE} && !!document.querySelector('.st-key-tg_cl_open summary')"
READY_JS = f"""() => {IDLE}
  && [...document.querySelectorAll('p, strong')].some(e => e.innerText.startsWith('Smallest count that fits'))
  && !!document.querySelector('.st-key-tg_chart_cluster .main-svg')"""


def _report(cluster: ClusterSettings, model: str = MODEL):
    o = cached_model(model)
    index = PlanIndex(o.inventory)
    resolved = resolve(PRESET_PLANS[DEFAULT_PLAN_NAME], index)
    est = estimate_for_plan(o.skeleton, index, resolved, MemorySettings())
    return cluster_report(est, model_sizes(o.inventory, o.skeleton.config), o.skeleton.config,
                          resolved.count.trainable, "peft", "bf16", 1, 2048, True, cluster)


def _open_section(page, url: str) -> None:
    """Load ``url`` and open the section (closed: no input, figure or chart of it on the page)."""
    page.goto(url)
    page.wait_for_function(CLOSED_JS, timeout=TIMEOUT)
    page.wait_for_timeout(300)
    assert not page.locator(".st-key-tg_cl_gpus").count() and not page.locator(CHART).count()
    page.locator(".st-key-tg_cl_open summary").click()
    page.wait_for_function(READY_JS, timeout=TIMEOUT)


def _main_text(page) -> str:
    return page.locator(SECTION).inner_text()


def _choose(page, key: str, option: str) -> None:
    for _ in range(10):  # a rerun right after the page settles (the URL sync) can close the list: reopen
        page.locator(f".st-key-{key} input").click()
        page.wait_for_timeout(400)
        if page.get_by_role("option", name=option, exact=True).count():
            break
        page.keyboard.press("Escape")
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_function("([sel, v]) => document.querySelector(sel).value === v",
                           arg=[f".st-key-{key} input", option], timeout=TIMEOUT)
    page.wait_for_timeout(500)
    page.wait_for_function(READY_JS, timeout=TIMEOUT)


def test_section_answers_for_405b_and_follows_the_inputs(app_url, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    for model in (MODEL, MOE):
        _open_section(page, f"{app_url}/targets?model={quote(model)}")
        default = _report(ClusterSettings(), model)
        assert default.best, model  # a count that fits exists
        assert (f"Smallest count that fits: {default.best['min_gpus']} × H100 SXM 80GB with {default.best['label']}"
                in _main_text(page)), model
        assert not error_texts(page)
    # the inputs, on a light model (GPT-2, default plan) so each rerun is quick
    _open_section(page, f"{app_url}/targets?model={quote(SMALL)}")
    _choose(page, "tg_cl_strategy", "DeepSpeed ZeRO-3")
    inp = page.locator(".st-key-tg_cl_gpus input")
    inp.fill("4")
    inp.press("Enter")
    page.wait_for_function("(n) => [...document.querySelectorAll('[data-testid=\"stMain\"] p')]"
                           ".some(e => e.innerText.startsWith('Per GPU') && e.innerText.includes(n))",
                           arg=f"{_report(ClusterSettings(gpus=4, strategy='zero3'), SMALL).per_gpu.nvidia_smi / GIB:.1f} GiB",
                           timeout=TIMEOUT)
    page.wait_for_function(READY_JS, timeout=TIMEOUT)
    r = _report(ClusterSettings(gpus=4, strategy="zero3"), SMALL)
    text = _main_text(page)
    assert f"nvidia-smi {r.per_gpu.nvidia_smi / GIB:.1f} GiB of 80" in text
    assert f"{r.run.tokens_per_s[0]:,.0f}–{r.run.tokens_per_s[1]:,.0f} tokens/s" in text
    drawn = page.evaluate("(sel) => document.querySelector(sel + ' .js-plotly-plot').data.map(t => t.name)", CHART)
    assert set(drawn) == {STRATEGIES[s].label for s in strategies_for("peft", "bf16")}
    assert page.locator(f"{CHART} .shapelayer path").count() >= 1  # the GPU's capacity line
    assert not error_texts(page)
    page.close()
