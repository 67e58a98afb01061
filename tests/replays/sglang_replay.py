"""Replay SGLang 0.5.23's adapter checks on our exports (one subprocess for the whole table).

Loaded by name from the installed sources (the modules import SGLang's server and CUDA code):
``LoRAConfig`` (``sglang/srt/lora/lora_config.py``, what SGLang reads of adapter_config.json),
``LoRAManager.validate_new_adapter`` (``lora_manager.py``, run on a stand-in manager with no
memory pool yet), ``get_normalized_target_modules`` and ``get_default_hidden_dim``
(``utils.py``, which size each target at server start). Payload ``{"cases": [{"id", "config",
"model": preset id}]}``; per case the first error each stage raises, or ``None``.
"""

import json
import logging
import sys
from types import SimpleNamespace
from typing import Dict, Iterable, Optional, Set, Tuple, Union

from source_loader import defines, load

from lora_core.model import sources

TYPING = {"Dict": Dict, "Iterable": Iterable, "Optional": Optional, "Set": Set, "Tuple": Tuple, "Union": Union,
          "logger": logging.getLogger("sglang"), "snapshot_download": None, "AutoConfig": object}
CONFIG = load("sglang", "srt/lora/lora_config.py", ["LoRAConfig"], TYPING)["LoRAConfig"]
UTILS = load("sglang", "srt/lora/utils.py", ["get_normalized_target_modules", "get_default_hidden_dim"],
             {**TYPING, "DSA_INDEXER_LORA_NAMES": ("indexer.wq_b", "indexer.wk", "indexer.weights_proj"),
              "get_dsa_index_head_dim": None, "get_dsa_index_n_heads": None})
MANAGER = load("sglang", "srt/lora/lora_manager.py", ["LoRAManager"], {**TYPING, "LoRARef": object,
               "LoRAUpdateOutput": object, "torch": None, "ForwardBatch": object})["LoRAManager"]


def stage(fn, *args):
    try:
        return None, fn(*args)
    except (ValueError, NotImplementedError, AssertionError, TypeError, KeyError) as e:
        return f"{type(e).__name__}: {e}", None


def judge(case: dict, hf_configs: dict) -> dict:
    out = {"id": case["id"]}
    out["config"], cfg = stage(CONFIG.from_dict, case["config"])
    if cfg is None:
        return out
    manager = SimpleNamespace(attn_dp_enabled=False, lora_refs={}, memory_pool=None)
    ref = SimpleNamespace(lora_name="ADAPTER", lora_path="adapter", pinned=False)
    out["validate_new_adapter"], _ = stage(MANAGER.validate_new_adapter, manager, cfg, ref)
    out["normalized"], names = stage(UTILS["get_normalized_target_modules"], cfg.target_modules)
    out["unsized"] = []
    if names and "all" not in names:
        text = hf_configs[case["model"]]
        for n in sorted(names):
            err, _ = stage(UTILS["get_default_hidden_dim"], n, text, 0)
            if err:
                out["unsized"].append(n)
    out["names"] = sorted(names) if names else None
    out["scaling"] = cfg.lora_alpha / cfg.r  # lora.py LoRAAdapter.__init__: self.scaling
    return out


def main() -> None:
    payload = json.load(sys.stdin)
    models = {c["model"] for c in payload["cases"]}
    hf = {m: sources.from_preset(m).config.get_text_config() for m in models}
    found = {f"{f} {n}": defines("sglang", f.removeprefix("sglang/"), n) for f, n in payload.get("sources", [])}
    print(json.dumps({"results": [judge(c, hf) for c in payload["cases"]], "sources": found}))


if __name__ == "__main__":
    main()
