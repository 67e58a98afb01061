"""What each lesson step draws (its ``show`` in ``steps.yaml``): one function per kind.

The numbers come from ``lora_core`` (plan counts, ``lora_core.lesson``); what depends only on the
model or the evidence is built once and kept (``LoadedModel.views.per_model`` / module cache).
"""

from __future__ import annotations

from functools import lru_cache

import streamlit as st

from lora_core import charts
from lora_core.numbers import human, human_bytes
from lora_core.lesson import charts as lesson_charts
from lora_core.lesson.breakdown import added_by, by_unit_kind, memory_story
from lora_core.lesson.budget import default_budget, equal_budget
from lora_core.lesson.evidence import beside_table5, load_evidence
from lora_core.lesson.names import names_table, substring_counts
from lora_core.lesson.steps import Step
from lora_core.memory import GPU_SIZES_GB, MemorySettings, estimate_for_plan
from lora_core.planning import Plan, Target

from ..common import widgets
from ..common.loaded_model import LoadedModel
from ..common.plan_views import PlanView
from ..common.urlstate import encode_targets

STATIC = widgets.STATIC_CHART_CONFIG
LESSON_MEMORY = MemorySettings()  # bf16 base, batch 1, 2,048 tokens, checkpointing, PEFT + Trainer
NAMES_COLUMNS = ("module", "role", "holds", "kind", "shape", "units", "substring_finds", "verdict")
BUDGET_COLUMNS = ("label", "rank", "trainable", "share_of_budget", "paper_rank", "paper_wikisql", "paper_multinli",
                  "modules", "note")
CLASSIFY, BROAD = Plan((Target("q", 8), Target("v", 8))), Plan((Target("all-linear", 16),))


def plan_text(plan: Plan) -> str:
    """A plan as the CLI writes its targets: ``q=8,v=8,ffn=4``."""
    return encode_targets(plan.targets)


@lru_cache(maxsize=1)
def _evidence_figures() -> dict[str, charts.SpecFigure]:
    ev = load_evidence()
    mm = ev.metamath_frame()
    return {"table5": lesson_charts.table5_dots(ev.table5_frame()),
            "metamath": lesson_charts.metamath_bars(mm)}


def memory_estimate(model: LoadedModel, view: PlanView):
    """The lesson's memory estimate of the plan and its bar chart, once per (model, plan)."""
    def build():
        est = estimate_for_plan(model.skeleton, model.index, view.resolved, LESSON_MEMORY)
        return est, charts.memory_bar(est.as_frame(), GPU_SIZES_GB)
    return model.views.memory(view.plan, ("lesson", LESSON_MEMORY), build)


def show_names(model: LoadedModel, view: PlanView) -> None:
    table = model.views.per_model("lesson names", lambda: names_table(model.inventory))
    found = model.views.per_model("lesson substring", lambda: substring_counts(model.inventory))
    st.dataframe(table, hide_index=True, key="ls_names", column_order=NAMES_COLUMNS,
                 column_config={"substring_finds": "substring check finds it as", "units": "in the model"})
    st.caption(f"The substring check lists {found['attention']} modules as Q/V and {found['ffn']} as FFN; "
               f"the plan `{plan_text(view.plan)}` wraps {view.count.modules} units, matched as PEFT matches.")


def show_count(model: LoadedModel, view: PlanView) -> None:
    widgets.count_metrics(view.count)
    widgets.chart(view.layer_chart, "ls_chart_layers", "Each bar is one layer's trainable LoRA parameters.",
                  config=widgets.FIXED_CHART_CONFIG)


def show_share(model: LoadedModel, view: PlanView) -> None:
    widgets.count_metrics(view.count)
    widgets.chart(view.share_chart, "ls_chart_share", "How the trainable parameters divide between roles.",
                  config=STATIC)


def show_budget(model: LoadedModel, view: PlanView) -> None:
    budget = model.views.per_model("lesson budget", lambda: default_budget(model.index))
    frame = model.views.per_model("lesson budget frame", lambda: equal_budget(model.index, budget))
    fig = model.views.per_model("lesson budget chart", lambda: lesson_charts.budget_bars(frame, budget))
    ev = load_evidence()
    left, right = st.columns(2, gap="large")
    with left:
        widgets.chart(fig, "ls_chart_budget", f"Budget: this model's Q,V at rank 8, {budget:,} parameters. "
                      "Each set gets the largest rank within it (grey: sets the paper did not try).", config=STATIC)
    with right:
        widgets.chart(_evidence_figures()["table5"], "ls_chart_table5",
                      f"{ev.table5_source}. {ev.table5_setting}.", config=STATIC)
    table = model.views.per_model("lesson budget table", lambda: beside_table5(frame, ev).drop(columns=["paper"]))
    st.dataframe(table, hide_index=True, key="ls_budget_table", column_order=BUDGET_COLUMNS, column_config={
        "label": "target set", "trainable": st.column_config.NumberColumn("trainable (PEFT)", format="localized"),
        "share_of_budget": st.column_config.ProgressColumn("of budget", format="percent"),
        "paper_rank": "paper's rank", "paper_wikisql": st.column_config.NumberColumn("paper: WikiSQL", format="%.1f"),
        "paper_multinli": st.column_config.NumberColumn("paper: MultiNLI", format="%.1f")})


def show_evidence(model: LoadedModel, view: PlanView) -> None:
    ev, figs = load_evidence(), _evidence_figures()
    widgets.chart(figs["metamath"], "ls_chart_metamath", f"{ev.metamath_source}: {ev.metamath_setting}. "
                  f"Each bar is one result file ([at this commit]({ev.metamath_url})). Memory barely moves with the "
                  "adapter: the frozen weights and activations dominate (see the memory step).", config=STATIC)
    for f in ev.findings:
        st.caption(f"**{f.source}**: {f.finding} ([source]({f.url}))")
    widgets.count_metrics(view.count)


def show_moe(model: LoadedModel, view: PlanView) -> None:
    table = by_unit_kind(view.rows, model.inventory)
    st.dataframe(table, hide_index=True, key="ls_moe_table",
                 column_config={"params": st.column_config.NumberColumn("LoRA parameters", format="localized")})
    if "routed experts" in set(table["unit"]) and "shared experts" not in set(table["unit"]):
        st.caption("This model has no shared experts: every FFN parameter here sits in routed experts "
                   "(DeepSeek-V3 has a shared expert beside them in each MoE layer).")
    router = added_by("router", 8, view.plan, model.index)
    experts = table.loc[table["unit"] == "routed experts", "params"].sum()
    if router or experts:
        st.caption(f"The routed experts take {human(int(experts))} of {human(view.count.trainable)}; adding the "
                   f"router at rank 8 would add {human(router)} (PEFT wraps its weight as a parameter).")
    widgets.chart(view.share_chart, "ls_chart_moe_share", "How the trainable parameters divide between roles.",
                  config=STATIC)


def show_memory(model: LoadedModel, view: PlanView) -> None:
    est, chart = memory_estimate(model, view)
    story = memory_story(est, view.count.trainable, view.count.all_params - view.count.trainable)
    widgets.chart(chart, "ls_chart_memory", "bf16 weights, batch 1, 2,048 tokens, gradient checkpointing, "
                  "PEFT with the transformers Trainer (change these on the Targets page).", config=STATIC)
    with st.container(horizontal=True, gap="small"):
        st.metric("Adapter weights + grads + optimizer", f"{story['adapter_gib']:.2f} GiB")
        st.metric("Same for every weight (full fine-tuning)", f"{story['full_gib']:.0f} GiB")
        st.metric("Activations", f"{story['activations_gib']:.2f} GiB")
    st.caption(f"At {story['bytes_per_param']:.0f} bytes per trained parameter, the frozen "
               f"{human(view.count.all_params - view.count.trainable)} would need {story['full_gib']:.0f} GiB "
               "of weights, gradients and optimizer states; LoRA keeps them for its few parameters only. The "
               "activations stay: backward still runs through every frozen layer.")


def show_tasks(model: LoadedModel, view: PlanView) -> None:
    plans = (("Classification: Q,V r8", CLASSIFY), ("Knowledge / style: this step's plan", view.plan),
             ("Broad: all linear r16 (QLoRA)", BROAD))
    columns = st.columns(len(plans), gap="medium")
    for col, (title, plan) in zip(columns, plans):
        if not any(model.index.mask(t.key).any() for t in plan.targets):
            col.caption(f"{title}: this model has none of {plan_text(plan)}.")
            continue
        c = view.count if plan == view.plan else model.views.get(plan, model.index, list(model.toggles),
                                                                 model.facts).count
        col.metric(title, human(c.trainable), help=f"{c.trainable:,} trainable · `{plan_text(plan)}`")
        col.caption(f"`{plan_text(plan)}` · adapter {human_bytes(2 * c.trainable)} in fp16")


SHOW = {"names": show_names, "count": show_count, "share": show_share, "budget": show_budget,
        "evidence": show_evidence, "moe": show_moe, "memory": show_memory, "tasks": show_tasks}


def show(step: Step, model: LoadedModel, view: PlanView) -> None:
    """Draw what ``step`` shows for its plan on ``model``."""
    SHOW[step.show](model, view)
