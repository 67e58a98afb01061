"""Module tree page in AppTest: every architecture renders, the numbers are lora_core's, and the
layer picker, search, navigation and saved-plan comparison drive the tree and the diagram.

Clicks on the charts (Plotly selection events) need a browser: tests/ui/test_browser_tree.py.
"""

from __future__ import annotations

import json

import pytest

from lora_core.numbers import human
from lora_core.planning import Plan, Target, count
from tests.app_support import errors, index_of, metric, model_of, open_app, plan_of
from ui.common.state import SAVED, SavedPlan

MODELS = ["meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "deepseek-ai/DeepSeek-V3",
          "google/flan-t5-base", "llava-hf/llava-1.5-7b-hf"]


def charts(at) -> dict[str, dict]:
    """The page's Plotly specs by key prefix (``tree_icicle``, ``tree_diagram``)."""
    out = {}
    for c in at.get("plotly_chart"):
        for name in ("tree_icicle", "tree_diagram"):
            if f"{name}_" in c.proto.id:
                out[name] = json.loads(c.proto.spec)
    return out


def showing(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Showing**"))


@pytest.mark.parametrize("model_id", MODELS)
def test_tree_page_renders_every_architecture(model_id):
    at = open_app("pages/tree.py", model=model_id)
    assert not at.exception and errors(at) == []
    assert metric(at, "Trainable parameters").value == human(count(plan_of(at), index_of(at)).trainable)
    specs = charts(at)
    icicle = specs["tree_icicle"]["data"][0]
    assert icicle["values"][0] == index_of(at).base_total  # the root holds the whole model
    blocks = specs["tree_diagram"]["data"][0]["text"]
    assert blocks and all(t.startswith("<b>") for t in blocks)


def test_layer_picker_redraws_the_diagram_and_opens_the_tree_there():
    at = open_app("pages/tree.py", model="deepseek-ai/DeepSeek-V3")
    assert at.number_input(key="tree_layer_decoder").value == 3  # the first MoE layer
    assert "router" in " ".join(charts(at)["tree_diagram"]["data"][0]["text"])
    assert showing(at).endswith("layers 3–60 × 58")
    at.number_input(key="tree_layer_decoder").set_value(1).run()
    assert "router" not in " ".join(charts(at)["tree_diagram"]["data"][0]["text"])
    assert showing(at).endswith("layers 0–2 × 3")
    at.checkbox(key="tree_open").check().run()
    assert showing(at).endswith("layer 1")
    assert "root.model.layers.1" in charts(at)["tree_icicle"]["data"][0]["ids"]


def test_search_and_navigation_move_the_tree():
    at = open_app("pages/tree.py", model="meta-llama/Meta-Llama-3.1-8B")
    at.text_input(key="tree_search").input("mlp.down").run()
    assert showing(at) == "**Showing** whole model › model › layers 0–31 × 32 › mlp"
    assert charts(at)["tree_icicle"]["data"][0]["level"] == "root.model.layers.0-31.mlp"
    at.button(key="tree_up").click().run()
    assert showing(at).endswith("layers 0–31 × 32")
    at.button(key="tree_home").click().run()
    assert showing(at) == "**Showing** whole model"


def test_saved_plan_marks_what_the_current_plan_adds_and_drops():
    at = open_app("pages/tree.py", model="meta-llama/Meta-Llama-3.1-8B")
    at.session_state[SAVED] = {"k-only": SavedPlan("k-only", Plan((Target("k", 8), Target("v", 8))), model_of(at))}
    at.run()
    at.selectbox(key="tree_compare").select("k-only").run()
    lines = [s["line"] for s in charts(at)["tree_diagram"]["layout"]["shapes"] if s["type"] == "rect"]
    assert sum(ln.get("color") == "#16a34a" for ln in lines) == 1  # q: added
    assert sum(ln.get("dash") == "dash" for ln in lines) == 1  # k: dropped
    icicle = charts(at)["tree_icicle"]["data"][0]
    marks = dict(zip(icicle["ids"], icicle["marker"]["line"]["color"]))
    assert marks["root.model.layers.0-31.self_attn.q_proj"] == "#16a34a"
    assert marks["root.model.layers.0-31.self_attn.k_proj"] == "#dc2626"
    assert marks["root.model.layers.0-31.self_attn.v_proj"] == "#111827"  # in both
    assert metric(at, "vs “k-only”").value == human(count(Plan((Target("k", 8), Target("v", 8))), index_of(at)).trainable)
