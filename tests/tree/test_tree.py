"""lora_core.tree: the folded hierarchy, click keys and toggles, the one-layer diagram.

Per-node parameters are checked against the real tools: the LoRA parameters PEFT itself
creates under each node (``get_peft_model`` on the meta model, from the exported config) and
the base parameters accelerate's ``compute_module_sizes`` finds under each module prefix.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from accelerate.utils import compute_module_sizes
from peft import get_peft_model

from lora_core.errors import InputError
from lora_core.planning.export import to_lora_config
from lora_core.planning import Plan, PlanIndex, Target, count, per_row, validate_plan
from lora_core.tree import keys
from lora_core.tree.diagram import layer_diagram
from lora_core.tree.figures import diagram_figure, tree_icicle
from lora_core.tree.hierarchy import ROOT, build_shape, node_table, rows_of, search_focus
from tests.helpers import PRESETS, cached_inventory, cached_skeleton, fresh_skeleton

LLAMA, GPT2, T5 = "meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "google/flan-t5-base"
DEEPSEEK, LLAVA = "deepseek-ai/DeepSeek-V3", "llava-hf/llava-1.5-7b-hf"
QV_FFN = Plan((Target("q", 8), Target("v", 4), Target("ffn", 2)), layers=(0, 1, 5))


def _nodes(model_id: str, plan: Plan, opened: frozenset[str] = frozenset()):
    inv = cached_inventory(model_id)
    shape = build_shape(inv, opened)
    ranks, lora = per_row(plan, PlanIndex(inv))
    return inv, shape, node_table(shape, inv, ranks, lora)


def _prefixes(node_id: str) -> list[str]:
    """The real module prefixes a node stands for: ``root.model.layers.0-2.mlp`` -> 3 names."""
    name = node_id.removeprefix(ROOT + ".")
    m = re.search(r"(?:^|\.)(\d+)-(\d+)(?=\.|$)", name)
    if not m:
        return [name]
    a, b = int(m.group(1)), int(m.group(2))
    return [name[:m.start(1)] + str(i) + name[m.end(2):] for i in range(a, b + 1)]


def test_llama_folds_into_one_range_and_opens_any_layer():
    _, shape, _ = _nodes(LLAMA, Plan((Target("q", 8),)))
    assert shape.nodes.loc[shape.nodes["depth"] == 2, "label"].tolist() == ["embed_tokens", "layers 0–31 × 32", "norm"]
    opened = build_shape(cached_inventory(LLAMA), frozenset({"model.layers.7"})).nodes
    assert [lab for lab in opened["label"] if lab.startswith("layer") and lab != "layers"] == ["layers 0–6 × 7", "layer 7", "layers 8–31 × 24"]


@pytest.mark.parametrize("model_id", [LLAMA, GPT2, DEEPSEEK, T5, LLAVA])
def test_every_parent_holds_exactly_its_children(model_id):
    _, _, nodes = _nodes(model_id, QV_FFN if model_id != DEEPSEEK else Plan((Target("q_a_proj", 8),)))
    kids = nodes[nodes["depth"] > 0].groupby("parent")[["base_params", "lora_params", "targeted"]].sum()
    parents = nodes.set_index("id").loc[kids.index, ["base_params", "lora_params", "targeted"]]
    assert (kids == parents).all().all()
    assert set(nodes["parent"]) - {""} <= set(nodes["id"]) and nodes["id"].is_unique


def test_deepseek_dense_and_moe_layers_fold_apart():
    _, shape, _ = _nodes(DEEPSEEK, Plan((Target("q_a_proj", 8),)))
    assert [lab for lab in shape.nodes["label"] if lab.startswith("layers ")] == ["layers 0–2 × 3", "layers 3–60 × 58"]


@pytest.mark.parametrize("model_id", [LLAMA, GPT2, T5])
def test_node_lora_params_are_what_peft_creates_under_the_node(model_id):
    inv, shape, nodes = _nodes(model_id, QV_FFN)
    config = to_lora_config(QV_FFN, inv, cached_skeleton(model_id))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft_model = get_peft_model(fresh_skeleton(model_id).model, config, low_cpu_mem_usage=True)
    per_module: dict[str, int] = {}
    for name, p in peft_model.named_parameters():
        if "lora_" in name:
            module = name.removeprefix("base_model.model.").split(".lora_")[0]
            per_module[module] = per_module.get(module, 0) + p.numel()
    names = inv["name"].to_numpy()
    for j, node in nodes.iterrows():
        under = set(names[rows_of(shape, node["id"])])
        assert node["lora_params"] == sum(n for m, n in per_module.items() if m in under), node["id"]
    assert nodes["lora_params"].iat[0] == count(QV_FFN, PlanIndex(inv)).lora == sum(per_module.values())


@pytest.mark.parametrize("model_id", [LLAMA, DEEPSEEK, T5])
def test_node_base_params_are_accelerates_module_sizes(model_id):
    inv, shape, nodes = _nodes(model_id, Plan((Target("q", 8),)))
    model = cached_skeleton(model_id).model
    sizes, buffers = compute_module_sizes(model), compute_module_sizes(model, buffers_only=True)
    width = next(model.parameters()).element_size()
    tied = set(inv.loc[inv["tied_to"].notna(), "name"])
    names = inv["name"].to_numpy()
    checked = 0
    for _, node in nodes[(nodes["depth"] > 0) & ~nodes["id"].str.endswith(" (own)")].iterrows():
        if tied & set(names[rows_of(shape, node["id"])]):
            continue  # accelerate counts a tied weight in every module that holds it; we count it once
        assert node["base_params"] == sum(sizes[p] - buffers.get(p, 0) for p in _prefixes(node["id"])) // width, node["id"]
        checked += 1
    assert checked >= 10


def _rows(model_id: str, pattern: str, layer: int | None = None) -> np.ndarray:
    inv = cached_inventory(model_id)
    hit = inv["name"].str.fullmatch(pattern)
    if layer is not None:
        hit &= inv["layer"] == layer
    return np.flatnonzero(hit.fillna(False).to_numpy())


KEYS = [
    ("llama-v-role", LLAMA, r".*\.v_proj", None, "role", "v"),
    ("llama-v-fold-module", LLAMA, r".*\.v_proj", None, "module", "v_proj"),
    ("llama-v-one-layer-module", LLAMA, r".*\.v_proj", 3, "module", "model.layers.3.self_attn.v_proj"),
    ("gpt2-c_attn-fused-role", GPT2, r".*\.c_attn", None, "role", "qkv"),
    ("gpt2-attn-c_proj-not-mlp", GPT2, r".*\.attn\.c_proj", None, "role", "o"),
    ("deepseek-shared-down-role", DEEPSEEK, r".*shared_experts\.down_proj", 5, "role", "down"),
    ("deepseek-shared-down-fold-module", DEEPSEEK, r"model\.layers\.([3-9]|[1-5]\d|60)\.mlp\.shared_experts\.down_proj",
     None, "module", "shared_experts.down_proj"),
    ("deepseek-experts-gate_up", DEEPSEEK, r".*experts\.gate_up_proj", 5, "role", "gate_up"),
    ("deepseek-router", DEEPSEEK, r".*mlp\.gate\.weight", 5, "role", "router"),
    ("t5-cross-q-not-self-q", T5, r"decoder.*EncDecAttention\.q", None, "role", "EncDecAttention.q"),
    ("llava-lm_head-group", LLAVA, r"lm_head", None, "role", "head"),
    ("llava-lm_head-module", LLAVA, r"lm_head", None, "module", "lm_head"),
]


@pytest.mark.parametrize("model_id,pattern,layer,by,want", [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_click_key_names_exactly_the_clicked_modules(model_id, pattern, layer, by, want):
    index = PlanIndex(cached_inventory(model_id))
    rows = _rows(model_id, pattern, layer)
    key = keys.key_for(index, rows, by)
    assert key == want
    mask = index.mask(key) & index.layer_mask(None)
    layers = set(index.layer[rows])
    same = np.isin(index.layer, list(layers)) | (np.isnan(index.layer) & any(np.isnan(list(layers))))
    assert set(np.flatnonzero(mask & same)) == set(rows)


def test_toggle_off_on_and_refusals():
    index = PlanIndex(cached_inventory(LLAMA))
    qv = Plan((Target("q", 8), Target("v", 8)))
    v = _rows(LLAMA, r".*\.v_proj")
    off = keys.toggle(qv, index, v)
    assert off.changed and off.plan == Plan((Target("q", 8),))
    on = keys.toggle(off.plan, index, _rows(LLAMA, r".*\.down_proj", 4))
    assert on.plan == Plan((Target("q", 8), Target("down", 8)))
    assert count(on.plan, index).lora == count(Plan((Target("q", 8), Target("down", 8))), index).lora
    broad = keys.toggle(Plan((Target("attention", 16),)), index, v)
    assert not broad.changed and "'attention'" in broad.message
    assert keys.toggle(Plan((Target("q", 16), Target("v", 16), Target("k", 4))), index,
                       _rows(LLAMA, r".*\.o_proj")).plan.targets[-1] == Target("o", 16)
    with pytest.raises(InputError, match="targets nothing"):
        keys.toggle(Plan((Target("v", 8),)), index, v)
    with pytest.raises(InputError, match="layer range"):
        keys.toggle(Plan((Target("q", 8),), layers=(0,)), index, _rows(LLAMA, r".*\.k_proj", 5), by="module")


def test_deepseek_experts_refuse_dora_through_peft_rules():
    index = PlanIndex(cached_inventory(DEEPSEEK))
    plan = Plan((Target("q_a_proj", 8),), dora=True)
    validate_plan(plan, index)
    with pytest.raises(InputError, match="dora"):
        keys.toggle(plan, index, _rows(DEEPSEEK, r".*experts\.gate_up_proj", 5))


def test_search_opens_the_path_to_every_hit():
    inv = cached_inventory(LLAMA)
    shape = build_shape(inv)
    assert search_focus(shape, inv, "mlp.down")[0] == "root.model.layers.0-31.mlp"
    assert search_focus(shape, inv, "norm")[0] == "root.model"
    assert search_focus(shape, inv, "lm_head")[0] == ROOT
    assert len(search_focus(shape, inv, "v_proj")[1]) == 32


def _diagram(model_id: str, stack: str, layer: int):
    inv = cached_inventory(model_id)
    config = cached_skeleton(model_id).config.get_text_config()
    return inv, layer_diagram(inv, stack, layer, config)


DIAGRAMS = [
    ("llama-gqa", LLAMA, "decoder", 3, {"q", "k", "v", "o", "gate", "up", "down"}, "8 K/V heads (GQA"),
    ("gpt2-fused-conv1d", GPT2, "decoder", 0, {"qkv", "o", "up", "down"}, "12 heads"),
    ("deepseek-mla-moe", DEEPSEEK, "decoder", 5, {"q_a", "q_b", "kv_a", "kv_b", "o", "router", "experts", "shared"},
     "latent 512"),
    ("deepseek-mla-dense", DEEPSEEK, "decoder", 0, {"q_a", "q_b", "kv_a", "kv_b", "o", "gate", "up", "down"}, "128 heads"),
    ("t5-decoder-cross", T5, "decoder", 2, {"q", "k", "v", "o", "gate", "up", "down"}, "K, V from the encoder"),
    ("llava-language", LLAVA, "language", 0, {"q", "k", "v", "o", "gate", "up", "down"}, "32 heads"),
]


@pytest.mark.parametrize("model_id,stack,layer,kinds,heads", [d[1:] for d in DIAGRAMS], ids=[d[0] for d in DIAGRAMS])
def test_diagram_draws_every_module_of_the_layer_once(model_id, stack, layer, kinds, heads):
    inv, d = _diagram(model_id, stack, layer)
    clickable = [b for b in d.boxes if b.clickable]
    assert {b.kind for b in clickable} == kinds
    drawn = [r for b in clickable for r in b.rows]
    layer_rows = inv.index[(inv["stack"] == stack) & (inv["layer"] == layer) & inv["targetable"]].tolist()
    assert sorted(drawn) == layer_rows  # each targetable module of the layer in exactly one block
    assert any(heads in b.detail for b in d.boxes if b.kind == "scores")
    assert all(b.sentence for b in clickable)
    ids = {b.id for b in d.boxes}
    assert len(ids) == len(d.boxes) and all(a in ids and b in ids for a, b, _ in d.edges)


def test_t5_decoder_has_cross_attention_and_llava_its_vision_tower():
    _, t5 = _diagram(T5, "decoder", 0)
    assert [t for _, t in t5.titles] == ["self-attention", "cross-attention", "feed-forward (FFN)"]
    _, enc = _diagram(T5, "encoder", 0)
    assert [t for _, t in enc.titles] == ["self-attention", "feed-forward (FFN)"]
    _, llava = _diagram(LLAVA, "language", 0)
    vision = next(b for b in llava.boxes if b.kind == "vision")
    assert vision.detail.startswith("24 layers") and not vision.clickable


def test_boxes_never_overlap():
    for _, model_id, stack, layer, _, _ in DIAGRAMS:
        _, d = _diagram(model_id, stack, layer)
        for i, a in enumerate(d.boxes):
            for b in d.boxes[i + 1:]:
                if abs(a.y - b.y) < 0.5:
                    assert abs(a.x - b.x) >= (a.w + b.w) / 2, (model_id, a.id, b.id)
            assert 0 <= a.x - a.w / 2 and a.x + a.w / 2 <= 6.0, (model_id, a.id)


@pytest.mark.parametrize("model_id,stack,layer", [(d[1], d[2], d[3]) for d in DIAGRAMS], ids=[d[0] for d in DIAGRAMS])
def test_figures_are_valid_plotly_and_light_what_the_plan_targets(model_id, stack, layer):
    inv, d = _diagram(model_id, stack, layer)
    plan = Plan((Target("all-linear", 8),)) if model_id != DEEPSEEK else Plan((Target("q_a_proj", 4),))
    ranks, lora = per_row(plan, PlanIndex(inv))
    fig = diagram_figure(d, ranks, lora, other_ranks=np.zeros_like(ranks))
    fig.validated()  # Plotly accepts every property
    clickable = [b for b in d.boxes if b.clickable]
    texts = fig.spec["data"][0]["text"]
    assert len(texts) == len(clickable)
    for b, text in zip(clickable, texts):
        rank = int(ranks[list(b.rows)].max())
        assert (f"r{rank} · " in text) == bool(rank), (b.id, text)
    shape = build_shape(inv)
    nodes = node_table(shape, inv, ranks, lora)
    groups = np.where(nodes["leaf"], inv["group"].to_numpy()[nodes["row"].clip(lower=0)], "")
    roles = np.where(nodes["leaf"], inv["role"].to_numpy()[nodes["row"].clip(lower=0)], "")
    icicle = tree_icicle(nodes, groups, ROOT, "lora", was=np.zeros(len(nodes)), roles=roles)
    icicle.validated()
    hover = dict(zip(icicle.spec["data"][0]["ids"], (c[7] for c in icicle.spec["data"][0]["customdata"])))
    named = nodes["leaf"] & (groups != "other") & nodes["kind"].isin(["linear", "conv1d", "embedding"])
    assert all(hover[i] for i in nodes.loc[named, "id"])  # every attention, FFN, head, embedding module says why


@pytest.mark.parametrize("model_id", PRESETS)
def test_every_preset_draws_each_layer_kind_with_every_module_once(model_id):
    inv = cached_inventory(model_id)
    config = cached_skeleton(model_id).config
    layered = inv[inv["layer"].notna()]
    for (stack, layer), rows in layered.groupby(["stack", "layer"], sort=False):
        if layer not in (layered.loc[layered["stack"] == stack, "layer"].min(),
                         layered.loc[layered["stack"] == stack, "layer"].max()):
            continue  # the first and last layer of each stack: dense and MoE variants included
        cfg = config.vision_config if stack == "vision" and hasattr(config, "vision_config") else config.get_text_config()
        d = layer_diagram(inv, stack, int(layer), cfg)
        drawn = sorted(r for b in d.boxes for r in b.rows)
        want = rows.index[rows["targetable"] & rows["group"].isin(["attention", "ffn", "experts", "router"])].tolist()
        assert drawn == want, (stack, layer)
        diagram_figure(d, np.zeros(len(inv), np.int64), np.zeros(len(inv), np.int64))
