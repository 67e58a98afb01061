"""LLaMA-Factory 0.9.5's own tables the importer copies: ``COMPOSITE_MODELS`` (model/model_utils/visual.py)."""

from __future__ import annotations

import json
import os
import sys

os.environ["DISABLE_VERSION_CHECK"] = "1"

from llamafactory.model.model_utils.visual import COMPOSITE_MODELS  # noqa: E402

if __name__ == "__main__":
    json.load(sys.stdin)
    table = {k: {"projector_keys": v.projector_keys, "vision_model_keys": v.vision_model_keys,
                 "language_model_keys": v.language_model_keys, "lora_conflict_keys": v.lora_conflict_keys}
             for k, v in COMPOSITE_MODELS.items()}
    print("\n" + json.dumps({"composite": table}))
