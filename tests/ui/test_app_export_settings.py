"""The Targets page's training settings outlive a page switch, and the Export page writes its recipes
with them (Streamlit drops a widget's key on a page that does not draw it: the section keeps its
settings under a plain key, ``ui.targets.memory.SAVED``)."""

from __future__ import annotations

from tests.app_support import errors, open_app, open_section


def test_the_memory_settings_outlive_a_visit_to_the_export_page():
    at = open_app("pages/targets.py")
    at.selectbox(key="tg_mem_seq").select(4096).run()
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    at.number_input(key="tg_mem_batch").set_value(2).run()
    at.switch_page("pages/export.py").run()
    at.run()  # a second run on the Export page: the Targets widgets' keys are gone by now
    assert not at.exception and not errors(at)
    saved = at.session_state["memory_settings"]
    assert (saved.seq_len, saved.base_dtype, saved.batch_size) == (4096, "nf4", 2)
    at.switch_page("pages/targets.py").run()
    assert at.selectbox(key="tg_mem_seq").value == 4096 and at.selectbox(key="tg_mem_dtype").value == "nf4"
    assert at.number_input(key="tg_mem_batch").value == 2


def test_the_export_recipes_carry_the_targets_shape_and_strategy():
    """The recipe tabs are written with what the Targets page shows: 4,096 tokens, batch 2, NF4, and the
    GPUs section's FSDP + QLoRA and epochs (the axolotl tab's text names them in axolotl's keys)."""
    at = open_app("pages/targets.py")
    at.selectbox(key="tg_mem_seq").select(4096).run()
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    at.number_input(key="tg_mem_batch").set_value(2).run()
    open_section(at, "tg_cl_open")  # the GPUs section's inputs are drawn while it is open
    at.number_input(key="tg_cl_gpus").set_value(2).run()
    at.selectbox(key="tg_cl_strategy").select("fsdp-qlora").run()
    at.number_input(key="tg_cl_epochs").set_value(2.0).run()
    at.switch_page("pages/export.py").run()
    assert not at.exception and not errors(at), errors(at)
    axolotl = next(c.value for c in at.code if "sequence_len:" in c.value)
    for line in ("adapter: qlora", "load_in_4bit: true", "sequence_len: 4096", "micro_batch_size: 2",
                 "num_epochs: 2.0", "fsdp_version: 2"):
        assert line in axolotl.splitlines(), line
    lf = next(c.value for c in at.code if "cutoff_len:" in c.value)
    assert "quantization_bit: 4" in lf and "cutoff_len: 4096" in lf and "num_train_epochs: 2.0" in lf


def test_use_as_the_current_plan_fills_the_gpus_section():
    at = open_app("pages/export.py")
    text = ("base_model: meta-llama/Meta-Llama-3.1-8B\nadapter: lora\nlora_r: 8\nlora_alpha: 16\n"
            "lora_target_modules: [q_proj, v_proj]\nsequence_len: 1024\nnum_epochs: 2\n"
            "deepspeed: {zero_optimization: {stage: 3, offload_optimizer: {device: cpu}}}\n")
    at.text_area(key="ex_recipe_text").input(text).run()
    at.button(key="ex_recipe_open").click().run()
    assert any("DeepSpeed ZeRO-3, offload optimizer" in c.value for c in at.caption)
    at.button(key="ex_recipe_apply").click().run()
    assert not errors(at)
    at.switch_page("pages/targets.py").run()
    open_section(at, "tg_cl_open")
    assert not at.exception and not errors(at)
    assert at.selectbox(key="tg_cl_strategy").value == "zero3" and at.selectbox(key="tg_cl_offload").value == "optimizer"
    assert at.number_input(key="tg_cl_epochs").value == 2.0 and at.number_input(key="tg_cl_gpus").value == 2
    assert at.selectbox(key="tg_mem_seq").value == 1024 and at.selectbox(key="tg_mem_trainer").value == "axolotl"
