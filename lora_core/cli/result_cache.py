"""A disk cache of the CLI's ``inspect`` output for presets, so a repeated ``inspect`` of a
preset needs neither torch nor transformers nor PEFT (about 4-5 s of CPU, mostly imports).

The key is everything the output depends on: the command and its flags, the preset's id and
the bytes of its config.json, the versions of torch, transformers and PEFT, and the bytes of
every source file of ``lora_core``. Any change to one of them misses the cache, and the output is
computed (and stored) as before. Only successful outputs are stored. The folder is
``LORA_EXPLORER_CACHE_DIR``, else ``~/.cache/lora-target-explorer``; ``LORA_EXPLORER_CACHE_DIR=off``
switches the cache off. This module imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

CACHE_ENV = "LORA_EXPLORER_CACHE_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # lora_core/
LIBRARIES = ("torch", "transformers", "peft", "pandas")


def cache_dir() -> Path | None:
    """Where outputs are kept, or ``None`` when the cache is off."""
    setting = os.environ.get(CACHE_ENV)
    if setting == "off":
        return None
    return Path(setting) if setting else Path.home() / ".cache" / "lora-target-explorer"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 over the versions of the libraries and every file of ``lora_core`` (sources and presets)."""
    h = hashlib.sha256()
    for lib in LIBRARIES:
        try:
            h.update(f"{lib}=={version(lib)}\n".encode())
        except PackageNotFoundError:
            h.update(f"{lib} missing\n".encode())
    for path in sorted(p for p in PACKAGE_DIR.rglob("*") if p.suffix in (".py", ".json") and p.is_file()):
        h.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def key(*parts: str | bytes) -> str:
    """The cache key of an output made from ``parts`` by this code and these libraries."""
    h = hashlib.sha256(code_digest().encode())
    for part in parts:
        h.update(b"\0" + (part if isinstance(part, bytes) else part.encode()))
    return h.hexdigest()


def get(k: str) -> str | None:
    """The stored output for key ``k``, if any."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return (folder / f"{k}.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def put(k: str, output: str) -> None:
    """Store ``output`` under ``k`` (silently skipped when the folder cannot be written)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{k}.{os.getpid()}.tmp"
        tmp.write_text(output, encoding="utf-8")
        tmp.replace(folder / f"{k}.txt")  # atomic: a concurrent reader sees all or nothing
    except OSError:
        pass
