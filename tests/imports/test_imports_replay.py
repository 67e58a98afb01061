"""Each trainer's own code, run on every imported recipe, trains what the import says: unit, rank, count.

The table (``tests/import_cases.py``) is replayed with the harness of the export replays
(``tests/replay_support.py``): axolotl's ``load_cfg`` + ``load_lora``, LLaMA-Factory's
``get_train_args`` + ``init_adapter``, Unsloth's parsed signature and helpers then PEFT
(``unsloth_import_replay.py``), each on a fresh meta skeleton in ``.venv-replay``. The import
(:mod:`lora_core.imports`) never runs those tools: it follows their rules and counts with the audit.
"""

from __future__ import annotations

import pytest

from lora_core.imports import read_text, state
from lora_core.imports.tool_rules import composite_models
from lora_core.imports.unsloth import DEFAULT_TARGET_MODULES, DEFAULTS
from lora_core.planning import PlanIndex, count, resolve_plan
from lora_core.recipes import CAPS
from tests.helpers import cached_inventory, cached_skeleton
from tests.import_cases import CASES
from tests.replay_support import run_replay

REPLAYS = {"axolotl": "axolotl_replay.py", "llamafactory": "llamafactory_replay.py",
           "unsloth": "unsloth_import_replay.py"}


@pytest.fixture(scope="module")
def reports():
    out = {}
    for cid, (tool, model, text) in CASES.items():
        out[cid] = state(read_text(text, cid), cached_inventory(model), cached_skeleton(model), model)
    return out


@pytest.fixture(scope="module")
def replayed() -> dict[str, dict]:
    """Case id -> what the tool's own code made PEFT wrap (one subprocess per tool)."""
    out: dict[str, dict] = {}
    for tool, script in REPLAYS.items():
        cases = [{"id": cid, "model": m, "text": text} for cid, (t, m, text) in CASES.items() if t == tool]
        out |= run_replay(script, {"cases": cases})["results"]
    return out


def test_the_table_holds_at_least_40_recipes_of_every_tool():
    tools = [t for t, _, _ in CASES.values()]
    assert len(CASES) >= 40 and {t: tools.count(t) >= 8 for t in REPLAYS} == dict.fromkeys(REPLAYS, True)


@pytest.mark.parametrize("case", list(CASES))
def test_the_tool_trains_what_the_import_says(case, reports, replayed):
    tool, _model, text = CASES[case]
    got, report = replayed[case], reports[case]
    assert not got["refused"], f"{tool} refused {case}: {got['refused']}\n{got.get('trace', '')}\n{text}"
    assert report.recipe.tool == tool and got["version"] == CAPS[tool].version
    assert {n: tuple(v) for n, v in got["wrapped"].items()} == report.units
    assert got["trainable"] == report.trainable
    assert report.exact  # the plan trains the same units at the same ranks, and the same count
    index = PlanIndex(cached_inventory(_model))
    rows = resolve_plan(report.plan, index)
    assert dict(zip(rows["name"], zip(rows["rank"], rows["alpha"]))) == report.units
    assert count(report.plan, index).trainable == got["trainable"]


def test_unsloth_defaults_are_its_signature(replayed):
    """The importer's defaults (r, alpha, dropout, bias, target_modules) are those of Unsloth's parsed source."""
    got = replayed["un-llama-defaults"]
    assert got["default_targets"] == DEFAULT_TARGET_MODULES
    assert got["defaults"] == {k: DEFAULTS[k] for k in got["defaults"]}


def test_llamafactory_composite_table_is_its_own():
    assert run_replay("llamafactory_tables_replay.py", {})["composite"] == composite_models()


# What the author probably meant but misses, on the cases built to show it (the replay above proves the units).
MISSES = {"ax-qwen3moe-target-linear": "MoE experts left frozen", "lf-qwen3moe-all": "MoE experts left frozen",
          "lf-mixtral-all": "MoE experts left frozen", "ax-llava-suffix-catches-vision": "vision tower",
          "lf-llava-vision-unfrozen": "vision tower", "ax-llama-dead-pattern-key": "rank_pattern: dense_h_to_4h",
          "ax-llama-typo-target": "v_porj", "ax-llama-save-embeddings": "copies 525 M",
          "un-mistral-save-lm-head": "copies 134 M", "un-llama-embeddings-moved": "copies 525 M",
          "lf-llama-additional-embeddings": "copies 525 M", "lf-llama-resize-vocab": "copies 525 M"}


@pytest.mark.parametrize("case", list(CASES))
def test_probable_misses_are_stated_where_the_case_has_one(case, reports, replayed):
    missed = " | ".join(reports[case].missed)
    if case in MISSES:
        assert MISSES[case] in missed, missed
    else:
        assert not missed, missed
    if "experts left frozen" in missed:  # the tool itself wraps no expert tensor
        assert not [n for n in replayed[case]["wrapped"] if ".experts." in n and not ".shared_experts." in n]
    if "vision tower" in missed:
        assert any("vision_tower" in n for n in replayed[case]["wrapped"])
