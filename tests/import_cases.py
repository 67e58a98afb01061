"""Recipes as people write them, for each trainer: the table the import replays run on.

Our own recipes, modelled on the kinds found in axolotl's and LLaMA-Factory's ``examples/``,
Unsloth's notebooks and the issues behind the importer (experts frozen, vision towers caught by a
suffix, ``lora_target_linear`` on GPT-2's Conv1D, ``modules_to_save`` on a 500 M embedding). Each
case is ``(tool, model, text)``; the text is what the tool reads, with the rest of a config it
validates (datasets, output_dir ...).
"""

from __future__ import annotations

import yaml

from lora_core.recipes.axolotl import REST as AX_REST
from lora_core.recipes.llamafactory import REST as LF_REST

LLAMA, GPT2, QWEN_MOE, MIXTRAL = ("meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "Qwen/Qwen3-30B-A3B",
                                  "mistralai/Mixtral-8x7B-v0.1")
QWEN, QWEN3, PHI3, GEMMA2 = ("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen3-8B", "microsoft/Phi-3-mini-4k-instruct",
                             "google/gemma-2-9b-it")
MISTRAL, DEEPSEEK, LLAVA = "mistralai/Mistral-7B-Instruct-v0.3", "deepseek-ai/DeepSeek-V3", "llava-hf/llava-1.5-7b-hf"
QKVO = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP = ["gate_proj", "up_proj", "down_proj"]


def ax(model: str, **keys) -> str:
    """An axolotl config: ``adapter: lora`` unless given, the keys, then a rest axolotl validates."""
    body = {"base_model": model, "adapter": "lora", **keys}
    return yaml.safe_dump({k: v for k, v in (body | {k: v for k, v in AX_REST.items() if k not in body}).items()},
                          sort_keys=False)


def lf(model: str, **keys) -> str:
    """A LLaMA-Factory SFT config with the keys, then a rest it validates."""
    body = {"model_name_or_path": model, "stage": "sft", "do_train": True, "finetuning_type": "lora", **keys}
    return yaml.safe_dump(body | {k: v for k, v in LF_REST.items() if k not in body}, sort_keys=False)


def un(model: str, args: str, load: str = "") -> str:
    """An Unsloth snippet as its notebooks write it."""
    return ("from unsloth import FastLanguageModel\n"
            f"model, tokenizer = FastLanguageModel.from_pretrained(model_name={model!r}, max_seq_length=2048{load})\n"
            f"model = FastLanguageModel.get_peft_model(\n    model,\n{args}\n)\n")


CASES: dict[str, tuple[str, str, str]] = {
    # axolotl
    "ax-llama-qkvo-r32": ("axolotl", LLAMA, ax(LLAMA, lora_r=32, lora_alpha=16, lora_dropout=0.05, lora_target_modules=QKVO)),
    "ax-llama-target-linear-qlora": ("axolotl", LLAMA, ax(LLAMA, adapter="qlora", load_in_4bit=True, lora_r=32, lora_alpha=16,
                                                        lora_target_linear=True, sequence_len=4096, micro_batch_size=2)),
    "ax-llama-linear-plus-modules": ("axolotl", LLAMA, ax(LLAMA, lora_r=8, lora_alpha=16, lora_target_linear=True,
                                                        lora_target_modules=["q_proj"])),
    "ax-llama-regex": ("axolotl", LLAMA, ax(LLAMA, lora_r=8, lora_alpha=16,
                                          lora_target_modules=r".*layers\.(0|1|2)\.self_attn\.(q|v)_proj")),
    "ax-llama-layers-0-7": ("axolotl", LLAMA, ax(LLAMA, lora_r=16, lora_alpha=32, lora_target_modules=QKVO + MLP,
                                               peft_layers_to_transform=list(range(8)))),
    "ax-llama-dora-rslora": ("axolotl", LLAMA, ax(LLAMA, lora_r=16, lora_alpha=16, lora_target_modules=["q_proj", "v_proj"],
                                                peft_use_dora=True, peft_use_rslora=True)),
    "ax-llama-rank-pattern": ("axolotl", LLAMA, ax(LLAMA, lora_r=8, lora_alpha=16, lora_target_modules=QKVO + MLP,
                                                 lora_rank_pattern={"down_proj": 32}, lora_alpha_pattern={"down_proj": 64})),
    "ax-llama-dead-pattern-key": ("axolotl", LLAMA, ax(LLAMA, lora_r=8, lora_alpha=16, lora_target_modules=QKVO,
                                                     lora_rank_pattern={"dense_h_to_4h": 32})),
    "ax-llama-save-embeddings": ("axolotl", LLAMA, ax(LLAMA, lora_r=16, lora_alpha=32, lora_target_modules=QKVO,
                                                    lora_modules_to_save=["embed_tokens", "lm_head"])),
    "ax-llama-typo-target": ("axolotl", LLAMA, ax(LLAMA, lora_r=8, lora_alpha=16, lora_target_modules=["q_proj", "v_porj"])),
    "ax-qwen3moe-mlp-names": ("axolotl", QWEN_MOE, ax(QWEN_MOE, lora_r=16, lora_alpha=32, lora_target_modules=QKVO + MLP)),
    "ax-qwen3moe-target-linear": ("axolotl", QWEN_MOE, ax(QWEN_MOE, lora_r=16, lora_alpha=32, lora_target_linear=True)),
    "ax-qwen3moe-target-parameters": ("axolotl", QWEN_MOE, ax(QWEN_MOE, lora_r=8, lora_alpha=16, lora_target_modules=QKVO,
                                                             lora_target_parameters=["mlp.experts.gate_up_proj",
                                                                                     "mlp.experts.down_proj"])),
    "ax-mixtral-w1-w2-w3": ("axolotl", MIXTRAL, ax(MIXTRAL, lora_r=8, lora_alpha=16,
                                                 lora_target_modules=["q_proj", "v_proj", "w1", "w2", "w3"])),
    "ax-gpt2-c-attn": ("axolotl", GPT2, ax(GPT2, lora_r=8, lora_alpha=16, lora_target_modules=["c_attn", "c_proj"])),
    "ax-phi3-fused": ("axolotl", PHI3, ax(PHI3, lora_r=64, lora_alpha=32, lora_target_modules=["qkv_proj", "o_proj",
                                                                                           "gate_up_proj", "down_proj"])),
    "ax-gemma2-all-linear-string": ("axolotl", GEMMA2, ax(GEMMA2, lora_r=16, lora_alpha=16, lora_target_modules="all-linear")),
    "ax-llava-suffix-catches-vision": ("axolotl", LLAVA, ax(LLAVA, lora_r=16, lora_alpha=32,
                                                          lora_target_modules=["q_proj", "k_proj", "v_proj", "out_proj"])),
    # LLaMA-Factory
    "lf-llama-all": ("llamafactory", LLAMA, lf(LLAMA, lora_target="all", lora_rank=8)),
    "lf-llama-default-target": ("llamafactory", LLAMA, lf(LLAMA, lora_rank=16, lora_alpha=16)),
    "lf-llama-qv-qlora": ("llamafactory", LLAMA, lf(LLAMA, lora_target="q_proj,v_proj", lora_rank=8, quantization_bit=4,
                                                  per_device_train_batch_size=4, cutoff_len=1024)),
    "lf-llama-dora": ("llamafactory", LLAMA, lf(LLAMA, lora_target="q_proj, k_proj, v_proj, o_proj", lora_rank=16,
                                              use_dora=True)),
    "lf-llama-rslora-alpha": ("llamafactory", LLAMA, lf(LLAMA, lora_target="all", lora_rank=32, lora_alpha=64,
                                                      use_rslora=True)),
    "lf-llama-additional-embeddings": ("llamafactory", LLAMA, lf(LLAMA, lora_target="q_proj,v_proj",
                                                               additional_target="embed_tokens,lm_head")),
    "lf-llama-resize-vocab": ("llamafactory", LLAMA, lf(LLAMA, lora_target="q_proj,v_proj", resize_vocab=True)),
    "lf-qwen3moe-all": ("llamafactory", QWEN_MOE, lf(QWEN_MOE, lora_target="all", lora_rank=8)),
    "lf-qwen3moe-mlp-names": ("llamafactory", QWEN_MOE, lf(QWEN_MOE, lora_target="gate_proj,up_proj,down_proj")),
    "lf-deepseek-v3-mlp": ("llamafactory", DEEPSEEK, lf(DEEPSEEK, lora_target="gate_proj,up_proj,down_proj", lora_rank=4)),
    "lf-mixtral-all": ("llamafactory", MIXTRAL, lf(MIXTRAL, lora_target="all")),
    "lf-qwen2.5-all": ("llamafactory", QWEN, lf(QWEN, lora_target="all", lora_rank=16, lora_alpha=32)),
    "lf-phi3-all": ("llamafactory", PHI3, lf(PHI3, lora_target="all")),
    "lf-gemma2-attention": ("llamafactory", GEMMA2, lf(GEMMA2, lora_target="q_proj,k_proj,v_proj,o_proj", lora_rank=8)),
    "lf-gpt2-c-attn": ("llamafactory", GPT2, lf(GPT2, lora_target="c_attn")),
    "lf-llava-all": ("llamafactory", LLAVA, lf(LLAVA, lora_target="all", lora_rank=8)),
    "lf-llava-qv": ("llamafactory", LLAVA, lf(LLAVA, lora_target="q_proj,v_proj")),
    "lf-llava-vision-unfrozen": ("llamafactory", LLAVA, lf(LLAVA, lora_target="all", freeze_vision_tower=False)),
    # Unsloth
    "un-llama-notebook": ("unsloth", LLAMA, un(LLAMA, "    r=16, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj',\n"
                                                  "    'gate_proj', 'up_proj', 'down_proj'], lora_alpha=16, lora_dropout=0,\n"
                                                  "    bias='none', use_gradient_checkpointing='unsloth', random_state=3407,")),
    "un-llama-defaults": ("unsloth", LLAMA, un(LLAMA, "    r=8,")),
    "un-llama-embeddings-moved": ("unsloth", LLAMA, un(LLAMA, "    r=16, lora_alpha=32, target_modules=['q_proj', 'v_proj', "
                                                          "'embed_tokens', 'lm_head'],")),
    "un-llama-rslora-layers": ("unsloth", LLAMA, un(LLAMA, "    r=32, lora_alpha=32, use_rslora=True, "
                                                       "layers_to_transform=[28, 29, 30, 31],")),
    "un-llama-dora-kwargs": ("unsloth", LLAMA, un(LLAMA, "    r=16, target_modules=['q_proj', 'v_proj'], use_dora=True,",
                                                  ", load_in_4bit=False")),
    "un-qwen3-regex": ("unsloth", QWEN3, un(QWEN3, r"    r=8, target_modules=r'.*\.(q|k|v|o)_proj',")),
    "un-qwen3moe-target-parameters": ("unsloth", QWEN_MOE, un(QWEN_MOE, "    r=16, target_modules=['q_proj', 'k_proj', 'v_proj', "
                                                              "'o_proj'],\n    target_parameters=['mlp.experts.gate_up_proj', "
                                                              "'mlp.experts.down_proj'],")),
    "un-qwen3moe-attention-only": ("unsloth", QWEN_MOE, un(QWEN_MOE, "    r=16, target_modules=['q_proj', 'k_proj', 'v_proj', "
                                                           "'o_proj'], target_parameters=[],")),
    "un-gemma2-all-linear": ("unsloth", GEMMA2, un(GEMMA2, "    r=16, target_modules='all-linear',")),
    "un-mistral-save-lm-head": ("unsloth", MISTRAL, un(MISTRAL, "    r=16, modules_to_save=['lm_head'],")),
}
