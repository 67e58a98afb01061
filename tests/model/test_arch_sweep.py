"""Every architecture transformers registers for causal LM, seq2seq LM, masked LM,
image-text-to-text and speech seq2seq: inspected, planned, exported, and applied with PEFT.

The sweep itself (config shrinking, one type's run, the skip table) lives in
``bench/arch_sweep.py``, which also writes ``docs/architectures.md``. Each type is cut to 2 layers
per stack and opened as an uploaded config.json is; each plan of ``PLANS`` is exported with
``to_lora_config`` and applied by ``verify`` (``get_peft_model(..., low_cpu_mem_usage=True)`` on a
fresh meta skeleton): the trainable count and the wrapped set must equal PEFT's. About a minute
on 2 cores.
"""

from __future__ import annotations

import pytest

from bench import arch_sweep as sweep
from bench.arch_sweep import SKIP, TypeResult
from lora_core.model import skeleton
from lora_core.model.summary import summarize
from lora_core.model.text_config import text_config

MIN_PASS_RATE = 0.98  # over every swept type (334 of 340 pass with transformers 5.23 / PEFT 0.21)
# Types that, cut to 2 layers, hold no softmax attention: state-space, recurrent, Fourier mixing.
NO_ATTENTION: dict[str, str] = {
    "mamba": "state-space model", "mamba2": "state-space model", "falcon_mamba": "state-space model",
    "xlstm": "recurrent xLSTM blocks", "fnet": "Fourier token mixing",
    "recurrent_gemma": "first layers are recurrent blocks",
    "bamba": "the default config places no attention layer (attn_layer_indices is None)",
    "granitemoehybrid": "every default layer_type is a Mamba layer",
}


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> dict[str, TypeResult]:
    out = sweep.run_sweep()
    rates = sweep.pass_rates(out)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    text = "\narchitecture sweep:\n" + rates.to_string(formatters={"rate": "{:.1%}".format,
                                                                    "rate_buildable": "{:.1%}".format})
    if capture is not None:  # shown even when pytest captures output
        with capture.global_and_fixture_disabled():
            print(text)
    else:
        print(text)
    return out


def test_types_cover_every_task_class(results: dict[str, TypeResult]) -> None:
    assert set(r.task for r in results.values()) == {"causal-lm", "seq2seq-lm", "masked-lm",
                                                     "image-text-to-text", "speech-seq2seq"}
    assert len(results) >= 300


def test_no_new_failures(results: dict[str, TypeResult]) -> None:
    """Every type not in SKIP passes every plan with PEFT-equal counts and wrapped sets."""
    failed = {t: r.error or {p: o for p, o in r.plans.items() if o != "ok"}
              for t, r in results.items() if not r.passed and t not in SKIP}
    assert not failed, f"new failures (fix, or add to SKIP with a verified reason): {failed}"


def test_skip_table_is_current(results: dict[str, TypeResult]) -> None:
    stale = [t for t in SKIP if t not in results or results[t].passed]
    assert not stale, f"these pass now: remove them from SKIP: {stale}"


def test_default_unbuildable_is_transformers_own_failure() -> None:
    """A type is excused as 'default unbuildable' only if transformers fails on its own default."""
    builds = [t for t in sweep.DEFAULT_UNBUILDABLE if sweep.transformers_builds_default(t)]
    assert not builds, f"transformers builds these defaults: sweep them, or give another reason: {builds}"


def test_config_overrides_stay_needed_and_suffice() -> None:
    """Each override fills what transformers' own default lacks: the plain default still fails in
    transformers (else drop the override), and with the override transformers builds it at full
    depth, without this tool's code."""
    assert set(sweep.CONFIG_OVERRIDES).isdisjoint(SKIP)
    needless = [t for t in sweep.CONFIG_OVERRIDES if sweep.transformers_builds_default(t)]
    assert not needless, f"transformers builds these defaults now: drop their overrides: {needless}"
    insufficient = [t for t in sweep.CONFIG_OVERRIDES if not sweep.transformers_builds_default(t, overrides=True)]
    assert not insufficient, insufficient


def test_musicgen_checkpoint_builds_the_class_it_declares(results: dict[str, TypeResult]) -> None:
    """A MusicGen config.json names MusicgenForConditionalGeneration: that is what is built (not
    the decoder-only causal LM, which cannot take the composite config), sized by its decoder."""
    config = sweep.shrunk_config("musicgen")
    skel = skeleton.build_skeleton(config)
    assert type(skel.model).__name__ == "MusicgenForConditionalGeneration"
    assert type(text_config(config)).__name__ == "MusicgenDecoderConfig"
    rows = results["musicgen"].rows
    summary = summarize(skel, rows)
    assert summary.total_params == results["musicgen"].numel
    assert summary.hidden_size == config.decoder.hidden_size != config.text_encoder.d_model
    assert rows["module"].str.startswith("decoder.").any() and rows["module"].str.startswith("text_encoder.").any()


def test_pass_rate(results: dict[str, TypeResult]) -> None:
    total = sweep.pass_rates(results).loc["total"]
    assert total["rate"] >= MIN_PASS_RATE, total


def _refusal_is_right(r: TypeResult, plan: str) -> bool:
    """A plan may be refused only when the model (in the language scope) lacks what it names."""
    rows = r.rows[r.rows["targetable"] & ~r.rows["stack"].isin(["vision", "projector"])]
    has = {g: bool((rows["group"] == g).any()) for g in ("attention", "ffn", "experts")}
    if plan == "q/v r8":
        attention = rows.loc[rows["group"] == "attention", "contains"].str.split("+")
        return not (attention.map(lambda c: "q" in c).any() and attention.map(lambda c: "v" in c).any())
    if plan == "attention r8 + ffn r4":
        return not has["attention"] or not (has["ffn"] or has["experts"])
    if plan == "all-linear r16 layer 1":
        return not (rows["layer"] == 1).any()
    if plan == "experts r4":  # experts the inventory does not offer (DBRX's 2-D fused w1/v1/w2)
        return not has["experts"]
    return False


def test_every_plan_verified_or_clearly_refused(results: dict[str, TypeResult]) -> None:
    """A refusal is the tool's ``field: message`` answer, and only where the plan cannot apply."""
    refused = {(t, p): o for t, r in results.items() if r.passed for p, o in r.plans.items() if o != "ok"}
    assert all(o.startswith("n/a: target") or o.startswith("n/a: layers:") for o in refused.values()), refused
    wrong = {k: o for k, o in refused.items() if not _refusal_is_right(results[k[0]], k[1])}
    assert not wrong, wrong
    planned = sum(len(r.plans) for r in results.values() if r.error is None)
    assert sum(o == "ok" for r in results.values() for o in r.plans.values()) >= 0.95 * planned


def test_totals_equal_model_numel(results: dict[str, TypeResult]) -> None:
    wrong = {t: (int(r.rows["base_params"].sum()), r.numel) for t, r in results.items()
             if r.error is None and r.rows["base_params"].sum() != r.numel}
    assert not wrong


def _has_attention(r: TypeResult) -> bool:
    return r.error is None and bool((r.rows["group"] == "attention").any())


def test_attention_found(results: dict[str, TypeResult]) -> None:
    """Attention in every type but the attention-free ones; hybrids whose first attention
    layer comes after layer 1 (Jamba, Zamba) are checked again at their default depth."""
    late = [t for t, r in results.items() if r.error is None and not _has_attention(r) and t not in NO_ATTENTION]
    missing = [t for t in late if not _has_attention(sweep.run_type(t, cut=False, plans=False))]
    assert not missing, f"no attention rows in {missing}"
    assert len(late) <= 0.05 * len(results), late
    assert all(results[t].error is None and not _has_attention(results[t]) for t in NO_ATTENTION)


def test_attention_has_named_roles(results: dict[str, TypeResult]) -> None:
    """Where attention is found, some of it has a real role (q, k, v, o, fused or MLA)."""
    unnamed = sorted(t for t, r in results.items() if r.error is None and
                     ((r.rows["group"] == "attention") & r.rows["targetable"]).any() and
                     not (r.rows.loc[r.rows["group"] == "attention", "role"] != "other").any())
    assert len(unnamed) <= 0.05 * len(results), unnamed


def test_mixers_are_their_own_groups(results: dict[str, TypeResult]) -> None:
    """Mamba mixers are ``ssm``, Gated DeltaNet is ``linear-attention``: not attention, FFN or experts."""
    jamba = results["jamba"].rows
    mixer = jamba[jamba["module"].str.contains(r"\.mamba\b")]
    assert len(mixer) and set(mixer["group"]) == {"ssm"}
    assert set(jamba.loc[jamba["kind"] == "expert-parameter", "group"]) == {"experts"}
    qwen3_next = results["qwen3_next"].rows
    delta = qwen3_next[qwen3_next["module"].str.contains(r"\.linear_attn\b")]
    assert len(delta) and set(delta["group"]) == {"linear-attention"}
    assert delta.loc[delta["kind"] == "linear", "targetable"].all()


def test_peft_refused_mamba_modules_are_not_offered(results: dict[str, TypeResult]) -> None:
    """PEFT's own check refuses ``out_proj`` on Mamba-based models: not targetable, reason given."""
    for t in ("falcon_h1", "mamba", "mamba2", "falcon_mamba", "nemotron_h"):
        rows = results[t].rows
        out = rows[rows["name"].str.endswith(".out_proj") & (rows["group"] == "ssm")]
        assert len(out) and not out["targetable"].any(), t
        assert out["not_offered"].str.contains("PEFT refuses 'out_proj'").all(), t
        assert results[t].plans["all-linear r16 layer 1"] == "ok", t
    jamba = results["jamba"].rows  # not in PEFT's list: its Mamba out_proj stays targetable
    assert jamba.loc[jamba["name"].str.endswith("mamba.out_proj"), "targetable"].all()


def test_fsmt_layers_are_not_head(results: dict[str, TypeResult]) -> None:
    fsmt = results["fsmt"].rows
    assert (fsmt["group"] == "attention").sum() == 2 * 4 + 2 * 8  # 2 encoder + 2 decoder layers
