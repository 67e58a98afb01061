"""The CLI's output on every preset, captured to a folder, so two versions of the code can be compared.

Run it on two checkouts and compare the folders:

    PYTHONPATH=/tmp/old  .venv/bin/python bench/cli_identity.py capture /tmp/cli-old
    PYTHONPATH=.         .venv/bin/python bench/cli_identity.py capture /tmp/cli-new
    .venv/bin/python bench/cli_identity.py compare /tmp/cli-old /tmp/cli-new

Each case runs ``lora_core.cli.main(argv)`` in-process and records its exit code, stdout and
stderr byte for byte (the temporary folder's path is written as ``<TMP>``). ``compare`` prints
one line per differing case and exits 1 when any differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
import tempfile
from pathlib import Path

PLANS: tuple[tuple[str, ...], ...] = (
    ("--target", "q=8", "--target", "v=8"),
    ("--target", "q=8", "--target", "v=8", "--json"),
    ("--target", "all-linear=16", "--json", "--base-dtype", "nf4", "--trainer", "axolotl"),
    ("--target", "attention=8", "--target", "ffn=4:8", "--layers", "0-1", "--dora"),
    ("--target", "experts=4", "--target", "q=16", "--rslora", "--json"),
    ("--target", "q", "--target", "ffn=4", "--format", "axolotl"),
    ("--target", "q", "--target", "ffn=4", "--format", "llamafactory"),
    ("--target", "q", "--target", "v", "--format", "unsloth", "--json"),
    ("--target", "attention=8", "--format", "python"),
    ("--target", "attention=8", "--target", "embedding=4", "--format", "peft", "--seq-len", "4096",
     "--batch-size", "2", "--trainer", "litgpt"),
    ("--target", "nonexistent_proj=8"),
)


def cases(model: str, tmp: str) -> list[tuple[str, list[str]]]:
    """(case name, argv) for one preset; the serve-check case reads what the first plan wrote."""
    out = [("inspect", ["inspect", model]), ("inspect-json", ["inspect", model, "--json"])]
    for i, extra in enumerate(PLANS):
        out.append((f"plan-{i}", ["plan", model, *extra]))
    cfg = f"{tmp}/adapter_config.json"
    out.append(("plan-out", ["plan", model, "--target", "q=8", "--target", "ffn=4", "--out", cfg]))
    out.append(("serve-check", ["serve-check", cfg, "--model", model]))
    out.append(("serve-check-json", ["serve-check", cfg, "--model", model, "--json"]))
    return out


def run_case(argv: list[str], tmp: str) -> bytes:
    from lora_core import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:  # argparse refusals
            code = e.code
    text = f"exit {code}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}"
    return text.replace(tmp, "<TMP>").encode("utf-8")


def capture(folder: Path) -> None:
    from lora_core import cli  # noqa: F401  (fail early on a broken import)
    try:
        from lora_core.model.presets import preset_ids
    except ImportError:
        from lora_core.presets import preset_ids
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for model in preset_ids():
            for name, argv in cases(model, tmp):
                data = run_case(argv, tmp)
                (folder / f"{model.replace('/', '__')}.{name}.txt").write_bytes(data)
            print(model, flush=True)


def compare(a: Path, b: Path) -> int:
    names = sorted({p.name for p in a.glob("*.txt")} | {p.name for p in b.glob("*.txt")})
    bad = 0
    for n in names:
        pa, pb = a / n, b / n
        da = pa.read_bytes() if pa.exists() else None
        db = pb.read_bytes() if pb.exists() else None
        if da != db:
            bad += 1
            print(f"DIFFERS {n}")
    digest = hashlib.sha256(b"".join((a / n).read_bytes() for n in names if (a / n).exists())).hexdigest()[:16]
    print(f"{len(names)} cases, {bad} differ (sha256 of all outputs {digest})")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "capture":
        capture(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
