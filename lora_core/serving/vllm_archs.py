"""vLLM 0.34.0 architecture tables, read from its source (static scan of the wheel, no import).

``NO_LORA``: registered classes without ``SupportsLoRA`` (``vllm/config/lora.py``
``LoRAConfig.verify_with_model_config`` refuses ``--enable-lora`` on them); ``LM_HEAD``: classes whose
``embedding_modules`` holds ``lm_head``; ``EMBED_ONLY``: classes that hold only ``embed_tokens``
there; ``TOWER``: ``supports_tower_connector_lora = True``. ``LEAVES``: the leaf names vLLM
accepts in an adapter for an architecture (``vllm/lora/worker_manager.py`` ``_load_adapter``:
the model's ``LinearBase``/``FusedMoE`` leaves with each packed name replaced by its
``packed_modules_mapping`` children, plus ``embedding_modules``), for the architectures whose
module tree was read. The class attributes are checked against the installed source in
``tests/serving/test_serving_replay.py``.
"""

from __future__ import annotations

NO_LORA: frozenset[str] = frozenset({
    "Phi4ForCausalLMV",
    "BailingMoeV2_5ForCausalLM", "BailingMoeV3ForCausalLM",
    "BailingMoeV3VLForConditionalGeneration", "BeamForCausalLM", "BeeForConditionalGeneration",
    "BertForMaskedLM", "BloomForCausalLM", "CLIPModel", "CanaryForConditionalGeneration",
    "Cohere2MoeForCausalLM", "Cohere2VisionForConditionalGeneration",
    "CohereAsrForConditionalGeneration", "ColBERTJinaRobertaModel", "ColBERTLfm2Model",
    "ColBERTModernBertModel", "ColModernVBertForRetrieval", "ColUltraVBertForRetrieval",
    "Cosmos3EdgeForConditionalGeneration", "D3ForSequenceClassification", "DbrxForCausalLM",
    "DeepseekV41ForCausalLM", "DeepseekV4ForCausalLM", "DeepseekVLV2ForCausalLM",
    "DiffusionGemmaForBlockDiffusion", "DomynEdgeForCausalLM", "DoryForCausalLM",
    "Dots3NoteForCausalLM", "EmbeddingGemma2Model", "FalconForCausalLM", "FalconMambaForCausalLM",
    "FireRedASR2ForConditionalGeneration", "FlintForCausalLM", "FunASRForConditionalGeneration",
    "FunAudioChatForConditionalGeneration", "GPT2ForSequenceClassification", "GPT2LMHeadModel",
    "GPTJForCausalLM", "Gemma3TextModel", "Gemma3nForCausalLM", "Gemma3nForConditionalGeneration",
    "Glm5NextForCausalLM", "GteModel", "GteNewForSequenceClassification", "GteNewModel",
    "HCXVisionV2ForCausalLM", "HfMoondream", "HrmTextForCausalLM", "IQuestLoopCoderForCausalLM",
    "JinaForRanking", "KananaVForConditionalGeneration", "KimiK25ForConditionalGeneration",
    "KimiK31ForConditionalGeneration", "KimiK3ForConditionalGeneration", "KimiLinearForCausalLM",
    "KimiVLForConditionalGeneration", "Lfm2BidirectionalModel",
    "Lfm3AudioForConditionalGeneration", "Lfm3VlForConditionalGeneration",
    "LlamaBidirectionalForSequenceClassification", "LlamaBidirectionalModel",
    "LlavaOnevision2ForConditionalGeneration", "LlavaOnevisionForConditionalGeneration",
    "Mamba2ForCausalLM", "MambaForCausalLM", "MiDashengLMModel", "MiMoV2FlashForCausalLM",
    "MiMoV2ForCausalLM", "MiMoV2OmniForCausalLM", "MingV3ASRForConditionalGeneration",
    "MiniMaxM3SparseForCausalLM", "MiniMaxM3SparseForConditionalGeneration",
    "MistralLarge4ForCausalLM", "ModernBertForSequenceClassification",
    "ModernBertForTokenClassification", "ModernVBertModel", "Moondream3ForCausalLM",
    "MoonshotKimiaForCausalLM", "MossTranscribeDiarizeForConditionalGeneration",
    "Nemotron3_5TranscribeForConditionalGeneration", "NemotronParseForConditionalGeneration",
    "NomicBertModel", "OpenAIPrivacyFilterForTokenClassification", "OpenVLAForActionPrediction",
    "OrionForCausalLM", "Ovis", "Ovis2_5", "Ovis2_6ForCausalLM", "Ovis2_6_MoeForCausalLM",
    "PaddleOCRVLForConditionalGeneration", "Phi3VForCausalLM", "Phi4ForCausalLMV",
    "Qwen2AudioForConditionalGeneration", "RForConditionalGeneration",
    "RadioMBartPrefixForCausalLM", "RicursiveForCausalLM", "RobertaForTokenClassification",
    "SiglipModel", "SkyworkR1VChatModel", "Step1ForCausalLM", "Step3TextForCausalLM",
    "Step3VLForConditionalGeneration", "Step3p5ForCausalLM", "Step3p7ForConditionalGeneration",
    "StepVLForConditionalGeneration", "Terratorch", "UltraVBertModel",
    "XLMRobertaForTokenClassification", "Zamba2ForCausalLM", "ZayaForCausalLM",
})
LM_HEAD: frozenset[str] = frozenset({
    "ApertusForCausalLM", "DeciLMForCausalLM", "Ernie4_5ForCausalLM", "Exaone4ForCausalLM",
    "ExaoneForCausalLM", "ExaoneMoEForCausalLM", "ExaoneMoeForCausalLM", "FalconH1ForCausalLM",
    "GraniteForCausalLM", "GraniteMoeForCausalLM", "GraniteMoeHybridForCausalLM",
    "GraniteMoeSWAForCausalLM", "GraniteMoeSharedForCausalLM", "GraniteSWAForCausalLM",
    "HyperCLOVAXForCausalLM", "IQuestCoderForCausalLM", "InklingForCausalLM",
    "InklingForConditionalGeneration", "InternLM3ForCausalLM", "JambaForCausalLM",
    "JambaForSequenceClassification", "JinaEmbeddingsV5Model", "K2HorizonForCausalLM",
    "LLaMAForCausalLM", "Lfm2ForCausalLM", "Lfm2MoeForCausalLM", "Lfm3ForCausalLM",
    "Llama4ForCausalLM", "LlamaForCausalLM", "LlamaModel", "MiniCPM3ForCausalLM",
    "MiniCPMForCausalLM", "MistralModel", "MixtralForCausalLM", "MossAudioModel",
    "MuseSparkForConditionalGeneration", "NemotronForCausalLM", "NemotronHForCausalLM",
    "NemotronHPuzzleForCausalLM", "Param2MoEForCausalLM", "Phi3ForCausalLM", "PhiMoEForCausalLM",
    "Qwen3ForCausalLM", "Qwen3MoeForCausalLM", "Qwen3_5ForCausalLM", "Qwen3_5MoeForCausalLM",
    "SolarForCausalLM", "TeleChat2ForCausalLM", "TeleChat3ForCausalLM", "TeleFLMForCausalLM",
})
EMBED_ONLY: frozenset[str] = frozenset({
    "ArceeForCausalLM", "AriaForConditionalGeneration", "Cohere2ForCausalLM", "CohereForCausalLM",
    "CwmForCausalLM", "Emu3ForConditionalGeneration", "FlexOlmoForCausalLM",
    "GPTBigCodeForCausalLM", "GPTNeoXForCausalLM", "GemmaForCausalLM", "GlmForCausalLM",
    "HunYuanDenseV1ForCausalLM", "HunYuanMoEV1ForCausalLM", "HunYuanVLForConditionalGeneration",
    "Jais2ForCausalLM", "Kolibri1ForCausalLM", "MellumForCausalLM", "NanbeigeForCausalLM",
    "Olmo2ForCausalLM", "Olmo3ForCausalLM", "OlmoForCausalLM", "OlmoeForCausalLM",
    "PhiForCausalLM", "SeedOssForCausalLM", "SmolLM3ForCausalLM", "StableLmForCausalLM",
    "Starcoder2ForCausalLM", "VaultGemmaForCausalLM", "VibeVoiceAsrForConditionalGeneration",
})
TOWER: frozenset[str] = frozenset({
    "Alpamayo2Super", "Blip2ForConditionalGeneration", "ClefFlashForJointSchema",
    "ClefOmniForJointSchema", "ColPaliForRetrieval", "ColQwen3", "ColQwen3_5",
    "Cosmos3ForConditionalGeneration", "DeepseekV4ForConditionalGeneration", "DotsOCRForCausalLM",
    "Exaone4_5_ForConditionalGeneration", "Gemma3ForConditionalGeneration",
    "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
    "Glm4vForConditionalGeneration", "Glm4vMoeForConditionalGeneration",
    "Glm5NextForConditionalGeneration", "GlmOcrForConditionalGeneration", "H2OVLChatModel",
    "Idefics3ForConditionalGeneration", "InternS1ProForConditionalGeneration",
    "InternS2MobiusForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
    "InternVLChatModel", "JinaVLForRanking", "Lfm2VlForConditionalGeneration",
    "Llama4ForConditionalGeneration", "LlavaForConditionalGeneration",
    "LlavaNextForConditionalGeneration", "LlavaNextVideoForConditionalGeneration", "NVLM_D",
    "OpenCUAForConditionalGeneration", "OpsColQwen3Model", "PaliGemmaForConditionalGeneration",
    "PixtralForConditionalGeneration", "QianfanOCRForConditionalGeneration",
    "Qwen2VLForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration",
    "Qwen3ASRForConditionalGeneration", "Qwen3ASRForcedAlignerForTokenClassification",
    "Qwen3ASRRealtimeGeneration", "Qwen3OmniMoeForConditionalGeneration",
    "Qwen3VLForConditionalGeneration", "Qwen3VLMoeForConditionalGeneration",
    "Qwen3VLNemotronEmbedModel", "Qwen3_5ForConditionalGeneration",
    "Qwen3_5MoeForConditionalGeneration", "Qwen4ExpForConditionalGeneration",
    "SmolVLMForConditionalGeneration", "UltravoxModel",
})
EMBED: frozenset[str] = (LM_HEAD - {"InklingForCausalLM", "InklingForConditionalGeneration"}) | EMBED_ONLY
THREE_D_MOE: frozenset[str] = frozenset({
    "GptOssForCausalLM", "Qwen3VLMoeForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration",
    "Qwen3OmniMoeForConditionalGeneration", "InternS1ProForConditionalGeneration",
    "InternS2MobiusForConditionalGeneration", "InternS2PreviewForConditionalGeneration",
})
_DENSE = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_CLIP = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2", "linear_1", "linear_2")
# arch -> (vLLM module file, accepted leaf names before embedding_modules)
LEAVES: dict[str, tuple[str, frozenset[str]]] = {
    "LlamaForCausalLM": ("llama", frozenset(_DENSE)),
    "MistralForCausalLM": ("mistral", frozenset(_DENSE)),
    "Qwen2ForCausalLM": ("qwen2", frozenset(_DENSE)),
    "Qwen3ForCausalLM": ("qwen3", frozenset(_DENSE)),
    "Gemma2ForCausalLM": ("gemma2", frozenset(_DENSE)),
    "Phi3ForCausalLM": ("phi3", frozenset({"qkv_proj", "o_proj", "gate_up_proj", "down_proj"})),
    "MixtralForCausalLM": ("mixtral", frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate", "experts"})),
    "Qwen3MoeForCausalLM": ("qwen3_moe", frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate", "experts"})),
    "DeepseekV3ForCausalLM": ("deepseek_v2", frozenset({"q_a_proj", "kv_a_proj_with_mqa", "q_b_proj", "kv_b_proj",
                                                       "q_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
                                                       "gate", "experts"})),
    "LlavaForConditionalGeneration": ("llava", frozenset(_DENSE + _CLIP)),
}
# Module paths vLLM names differently from transformers 5 (only the leaf is validated, so these load
# and are never applied): arch -> {HF path fragment: vLLM's path}. Mixtral: `models/mixtral.py`
# `MixtralDecoderLayer` (block_sparse_moe); LLaVA: transformers 5 flattens CLIPVisionModel (no
# `vision_model`), `models/llava.py` `hf_to_vllm_mapper` only strips `model.`, `models/clip.py`
# `CLIPVisionModel` keeps `vision_model`.
PATH_MISMATCH: dict[str, dict[str, str]] = {
    "MixtralForCausalLM": {".mlp.experts": ".block_sparse_moe.experts", ".mlp.gate": ".block_sparse_moe.gate"},
    "LlavaForConditionalGeneration": {".vision_tower.encoder.": ".vision_tower.vision_model.encoder."},
}


def embedding_leaves(arch: str) -> frozenset[str]:
    """``embedding_modules`` keys of ``arch`` (``embed_tokens``, ``lm_head``)."""
    return frozenset((["embed_tokens"] if arch in EMBED else []) + (["lm_head"] if arch in LM_HEAD else []))
