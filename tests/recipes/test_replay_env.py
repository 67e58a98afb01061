"""The replay venv reuses the project's own torch, transformers and peft (no second, CUDA, torch)."""

from __future__ import annotations

import os

import peft
import torch
import transformers

from tests.replay_support import run_replay


def test_replay_venv_sees_the_project_packages() -> None:
    got = run_replay("env_check.py", {})
    assert ".venv-replay" in got["python"]
    assert got["torch"] == torch.__version__
    assert os.path.realpath(got["torch_file"]) == os.path.realpath(torch.__file__)
    assert got["transformers"] == transformers.__version__
    assert got["peft"] == peft.__version__
