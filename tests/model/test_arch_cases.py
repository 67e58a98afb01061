"""The five ways model families outside the presets used to break, in the core, the CLI and the app.

Configs are the sweep's: each type's default config cut to 2 layers (``bench/arch_sweep.py``),
written as the config.json a user would upload. Counts and wrapped sets are checked by applying
the export with PEFT (``verify``), and PEFT's own refusal is checked by ``get_peft_model`` raising.
"""

from __future__ import annotations

import json
import re
import warnings
from functools import lru_cache
from pathlib import Path

import pytest
from peft import LoraConfig, get_peft_model

from bench import arch_sweep as sweep
from lora_core import cli
from lora_core.model import open_model, skeleton, sources
from lora_core.errors import InputError
from lora_core.planning.export import to_lora_config
from lora_core.planning import Plan, PlanIndex, Target, resolve_plan, validate_plan
from lora_core.planning.verify import verify
from tests.app_support import errors, open_app, shown_trainable

LLAMA_ZERO_HEADS = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                    "num_attention_heads": 0, "num_key_value_heads": 0, "vocab_size": 100}


@lru_cache(maxsize=None)
def config_bytes(model_type: str) -> bytes:
    """The 2-layer default config of ``model_type`` as config.json bytes."""
    return json.dumps(sweep.shrunk_config(model_type).to_dict()).encode()


def opened(model_type: str) -> tuple[skeleton.Skeleton, object, sources.ModelSource]:
    src = sources.from_upload(config_bytes(model_type))
    opened = open_model(src)
    return opened.skeleton, opened.inventory, src


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path: Path, model_type: str) -> str:
    path = tmp_path / f"{model_type}.json"
    path.write_bytes(config_bytes(model_type))
    return str(path)


def upload(at, data: bytes) -> None:
    at.file_uploader(key="model_upload").upload("config.json", data, "application/json").run()
    at.button(key="model_upload_open").click().run()


# ---------------------------------------------------------------- 1. per-layer size lists
def test_per_layer_sizes_are_read_and_verified_by_peft() -> None:
    raw = json.loads(config_bytes("gemma3n_text"))
    assert isinstance(raw["intermediate_size"], list)
    raw["intermediate_size"] = [4096, 8192]  # Gemma-3n's per-layer FFN widths, one per layer
    src = sources.from_upload(json.dumps(raw).encode())
    inv = open_model(src).inventory
    ups = inv[inv["name"].str.endswith("mlp.up_proj")].sort_values("layer")
    assert list(ups["out_features"]) == [4096, 8192]
    plan = Plan((Target("q", 8), Target("v", 8), Target("ffn", 4)))
    v = verify(plan, inv, lambda: skeleton.build_skeleton(src.config))
    assert v.ok and v.peft_trainable > 0, v.diff


def test_a_bad_entry_of_a_per_layer_list_is_named() -> None:
    raw = json.loads(config_bytes("gemma3n_text"))
    raw["intermediate_size"] = [raw["intermediate_size"][0], "wide"]
    with pytest.raises(InputError, match=r"^intermediate_size\[1\]: must be an integer, got 'wide'"):
        sources.from_upload(json.dumps(raw).encode())


def test_cli_plans_a_per_layer_size_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["plan", write(tmp_path, "gemma3n_text"), "--target", "ffn=4", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["trainable_params"] > 0


def test_app_opens_a_per_layer_size_model() -> None:
    at = open_app("pages/model.py")
    upload(at, config_bytes("gemma3n_text"))
    assert not at.exception and not errors(at), errors(at)
    assert at.session_state["model_ref"].kind == "upload"
    at.switch_page("pages/targets.py").run()
    assert not at.exception and shown_trainable(at) > 0


# ---------------------------------------------------------------- 2. a vision tower that needs timm
TIMM = r"config: transformers could not build a gemma3n model: its vision tower is a timm model"


def test_timm_tower_is_a_clear_message_in_core_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = sources.from_upload(config_bytes("gemma3n"))
    with pytest.raises(InputError, match=TIMM):
        skeleton.build_skeleton(src.config)
    code, _, err = run_cli(["inspect", write(tmp_path, "gemma3n")], capsys)
    assert code == 2 and re.match("error: " + TIMM, err) and "Traceback" not in err, err


def test_timm_tower_is_a_clear_message_in_the_app() -> None:
    at = open_app("pages/model.py")
    before = at.session_state["model_ref"]
    upload(at, config_bytes("gemma3n"))
    assert not at.exception
    assert any("timm" in e and "torchvision" in e for e in errors(at)), errors(at)
    assert at.session_state["model_ref"] == before  # the previous model is kept


# ---------------------------------------------------------------- 3. PEFT's refusal on Mamba-based models
def test_all_linear_on_falcon_h1_leaves_out_what_peft_refuses() -> None:
    skel, inv, src = opened("falcon_h1")
    plan = Plan((Target("all-linear", 16),))
    config = to_lora_config(plan, inv, skel)
    wrapped = resolve_plan(plan, PlanIndex(inv))["name"]
    assert not wrapped.str.endswith("out_proj").any() and wrapped.str.endswith("mamba.in_proj").any()
    v = verify(plan, inv, lambda: skeleton.build_skeleton(src.config))
    assert v.ok, v.diff
    with warnings.catch_warnings(), pytest.raises(ValueError, match="incompatible with Mamba-based models"):
        warnings.simplefilter("ignore")  # PEFT itself refuses what the tool leaves out
        get_peft_model(skeleton.build_skeleton(src.config).model,
                       LoraConfig(target_modules=list(config.target_modules) + ["out_proj"]), low_cpu_mem_usage=True)


def test_naming_a_refused_module_says_why(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, inv, _ = opened("falcon_h1")
    with pytest.raises(InputError, match=r"^target 'out_proj': PEFT refuses 'out_proj' on falcon_h1 models"):
        validate_plan(Plan((Target("out_proj", 8),)), PlanIndex(inv))
    code, _, err = run_cli(["plan", write(tmp_path, "falcon_h1"), "--target", "out_proj=8"], capsys)
    assert code == 2 and "PEFT refuses 'out_proj'" in err, err
    code, out, _ = run_cli(["inspect", write(tmp_path, "falcon_h1")], capsys)
    assert code == 0 and "Not offered: " in out and "SSM / recurrent mixer modules" in out


def test_targets_page_says_why_out_proj_is_not_offered() -> None:
    at = open_app("pages/model.py")
    upload(at, config_bytes("falcon_h1"))
    assert not errors(at), errors(at)
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    keys = {t.key for t in at.toggle}
    assert "tg_on_ssm" in keys and "tg_on_out_proj" not in keys
    assert any("out_proj" in c.value and "PEFT refuses" in c.value for c in at.caption)


# ---------------------------------------------------------------- 4. FFN roles on MoE models without a dense FFN
@pytest.mark.parametrize("model_type", ["olmoe", "phimoe", "jamba"])
def test_down_reaches_the_routed_experts(model_type: str) -> None:
    skel, inv, src = opened(model_type)
    plan = Plan((Target("down", 4),))
    rows = resolve_plan(plan, PlanIndex(inv))
    assert (rows["group"] == "experts").any() and (rows["name"].str.endswith("experts.down_proj")).any()
    moe_layers = set(inv.loc[inv["group"] == "experts", "layer"])
    dense_layers = set(inv.loc[(inv["group"] == "ffn") & (inv["role"] == "down"), "layer"])
    assert set(rows.loc[rows["group"] == "experts", "layer"]) == moe_layers - dense_layers
    v = verify(plan, inv, lambda: skeleton.build_skeleton(src.config))
    assert v.ok, v.diff


def test_jamba_down_takes_dense_layers_and_experts_each_where_they_are() -> None:
    _, inv, _ = opened("jamba")
    rows = resolve_plan(Plan((Target("down", 4),)), PlanIndex(inv))
    assert set(rows["group"]) == {"ffn", "experts"}  # layer 0 dense, layer 1 MoE
    assert not (set(rows.loc[rows["group"] == "ffn", "layer"]) & set(rows.loc[rows["group"] == "experts", "layer"]))


def test_cli_down_on_olmoe(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["plan", write(tmp_path, "olmoe"), "--target", "down=4", "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["peft_config"]["target_parameters"] and all("experts" in n for n in payload["targeted"])


def test_a_role_missing_everywhere_names_the_experts_key() -> None:
    _, inv, _ = opened("olmoe")
    with pytest.raises(InputError, match=r"the routed experts are the 'experts' key"):
        validate_plan(Plan((Target("o_a_proj", 4),)), PlanIndex(inv))


def test_targets_page_shows_peft_count_for_down_on_olmoe() -> None:
    """A ``down`` plan on OLMoE (as a shared link or the CLI gives it): the page shows PEFT's count."""
    at = open_app("pages/model.py")
    upload(at, config_bytes("olmoe"))
    assert not errors(at), errors(at)
    at.switch_page("pages/targets.py").run()
    plan = Plan((Target("down", 4),))
    at.session_state["plan"] = plan
    at.run()
    assert not at.exception and not errors(at), errors(at)
    _, inv, src = opened("olmoe")
    v = verify(plan, inv, lambda: skeleton.build_skeleton(src.config))
    assert v.ok and shown_trainable(at) == v.peft_trainable
    assert at.toggle(key="tg_on_experts").value  # the experts toggle shows the experts are adapted


# ---------------------------------------------------------------- 5. a zero head count
ZERO = r"num_attention_heads\W*: must be at least 1, got 0"


def test_zero_heads_is_a_field_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA_ZERO_HEADS))
    for argv in (["inspect", str(path)], ["plan", str(path), "--target", "q=8"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and re.match("error: " + ZERO, err) and "Traceback" not in err, err


def test_zero_vocabulary_is_a_field_message(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "config.json"  # torch checks nn.Embedding's padding_idx with an assert
    path.write_text(json.dumps({**LLAMA_ZERO_HEADS, "num_attention_heads": 4, "num_key_value_heads": 2,
                                "vocab_size": 0, "pad_token_id": 5}))
    code, _, err = run_cli(["inspect", str(path)], capsys)
    assert code == 2 and err.startswith("error: config: transformers could not build a llama model") \
        and "Traceback" not in err, err


def test_zero_heads_in_the_app() -> None:
    at = open_app("pages/model.py")
    upload(at, json.dumps(LLAMA_ZERO_HEADS).encode())
    assert not at.exception
    assert any(re.search(ZERO, e) for e in errors(at)), errors(at)


# ---------------------------------------------------------------- a composite checkpoint (MusicGen)
def test_app_opens_a_musicgen_checkpoint() -> None:
    """A MusicGen config.json (architectures: MusicgenForConditionalGeneration) opens as that
    class, and the pages that read sizes from the text config take the decoder's."""
    at = open_app("pages/model.py")
    upload(at, config_bytes("musicgen"))
    assert not at.exception and not errors(at), errors(at)
    assert at.session_state["model_ref"].kind == "upload"
    at.switch_page("pages/targets.py").run()
    assert not at.exception and not errors(at) and shown_trainable(at) > 0, errors(at)
    for page in ("pages/tree.py", "pages/export.py"):
        at.switch_page(page).run()
        assert not at.exception and not errors(at), (page, errors(at))
