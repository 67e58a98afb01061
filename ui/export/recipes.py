"""The Export page's per-tool recipes: the text, and "this tool will train N parameters on M units"
beside the plan's numbers, with an exact mark or the difference in words (``lora_core.recipes``).

Cached per (model, plan): choosing a form counts a few candidates with PEFT's matching.
"""

from __future__ import annotations

import streamlit as st

from lora_core.numbers import human
from lora_core.errors import InputError
from lora_core.planning import Plan
from lora_core.recipes import TOOLS, Recipe, Shape, write_all

from ..targets import cluster as cluster_section
from ..targets import memory as memory_section
from ..common import widgets
from ..common.loaded_model import LoadedModel, ModelRef

TAB_TITLES = {"peft": "adapter_config.json", "python": "PEFT Python"}  # others: the tool's name
TAB_KEY = "ex_tool_tab"


@st.cache_resource(max_entries=64, show_spinner=False)
def _recipes(ref: ModelRef, plan: Plan, model_id: str, _model: LoadedModel,
             _exported: dict, strategy: str = "single", offload: str = "none",
             shape: Shape | None = None) -> dict[str, Recipe] | InputError:
    try:
        return write_all(plan, _model.index, _model.skeleton, model_id, _exported,
                         _model.views.resolve(plan, _model.index), strategy, offload, shape)
    except InputError as e:
        return e


def recipes(model: LoadedModel, plan: Plan, exported: dict) -> dict[str, Recipe]:
    """Every tool's recipe for ``plan``, from its exported adapter_config.json dict (cached per model, plan,
    shape, strategy), with the Targets page's training shape (its memory settings and epochs) and the
    DeepSpeed / FSDP settings of its strategy."""
    model_id = model.ref.label if model.ref.kind in ("preset", "hub") else "path/to/your/model"
    cluster = cluster_section.settings_from_state()
    shape = Shape.of(memory_section.saved_settings(), cluster.epochs)
    result = _recipes(model.ref, plan, model_id, model, exported, cluster.strategy, cluster.offload, shape)
    if isinstance(result, InputError):
        raise result
    return result


def verdict(recipe: Recipe) -> str:
    """One line: what the tool trains, beside the plan's figures."""
    st_ = recipe.statement
    tool = f"{recipe.label} {recipe.version}"
    mine = f"**{st_.trainable:,}** parameters ({human(st_.trainable)}) on **{st_.modules:,}** units"
    plan = f"{st_.plan_trainable:,} on {st_.plan_modules:,}"
    if st_.exact:
        return f"Exact: {tool} will train {mine}, the plan's {plan}."
    return f"{tool} will train {mine}; the plan trains {plan}."


def show(recipe: Recipe) -> None:
    """A recipe's verdict (exact mark, or the differences), its text and its download."""
    if recipe.statement.exact:
        st.success(verdict(recipe), icon="✅")
    else:
        st.warning(verdict(recipe) + "\n\n" + "\n".join(f"- {d}" for d in recipe.statement.differences()),
                   icon="⚠️")
    st.code(recipe.text, language=recipe.language, height=420 if recipe.tool == "peft" else "content")
    if recipe.tool == "peft":  # the page's main download button is this file
        return
    st.download_button(f"Download {recipe.filename}", recipe.text.encode("utf-8"), file_name=recipe.filename,
                       key=f"ex_dl_{recipe.tool}", help=f"Checked against {recipe.label} {recipe.version}.")


def _remember_tool(labels: dict[str, str]) -> None:
    """The tool whose tab is open becomes the Targets page's memory profile (``ui/memory_section.py``)."""
    memory_section.follow_recipe_tool(labels[st.session_state[TAB_KEY]])


def render_tabs(model: LoadedModel, plan: Plan, exported: dict) -> None:
    """One tab per tool (``exported``: the plan's adapter_config.json dict, already computed)."""
    try:
        found = recipes(model, plan, exported)
    except InputError as e:
        widgets.show_error(e)
        return
    labels = {TAB_TITLES.get(t, found[t].label): t for t in TOOLS}
    tabs = st.tabs(list(labels), key=TAB_KEY, on_change=_remember_tool, args=(labels,))
    for tab, tool in zip(tabs, TOOLS):
        with tab:
            show(found[tool])
