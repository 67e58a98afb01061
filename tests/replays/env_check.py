"""Replay-venv self check: prints where torch, transformers and peft come from (the project's .venv)."""

import json
import sys

import peft
import torch
import transformers

print(json.dumps({"python": sys.executable, "torch": torch.__version__, "torch_file": torch.__file__,
                  "transformers": transformers.__version__, "peft": peft.__version__}))
