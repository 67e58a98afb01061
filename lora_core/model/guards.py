"""Limits checked on a raw config dict before any model is built.

A config from a stranger can ask for a billion layers; the meta device would still try to
create a billion modules. We refuse such configs up front, naming the field and the limit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from re import _constants as sre_c
from re import _parser as sre_parse
from typing import Any

from ..errors import InputError

# Generous upper bounds: 4x the largest published models, far below what hangs the server.
SIZE_LIMITS: dict[str, int] = {
    "num_hidden_layers": 1024,
    "num_layers": 1024,
    "n_layer": 1024,
    "num_decoder_layers": 1024,
    "hidden_size": 131_072,
    "d_model": 131_072,
    "n_embd": 131_072,
    "intermediate_size": 1_048_576,
    "moe_intermediate_size": 1_048_576,
    "d_ff": 1_048_576,
    "n_inner": 1_048_576,
    "vocab_size": 4_194_304,
    "num_attention_heads": 8_192,
    "num_key_value_heads": 8_192,
    "n_head": 8_192,
    "num_heads": 8_192,
    "num_local_experts": 65_536,  # Doge's default has 16,384 tiny experts
    "num_experts": 65_536,
    "n_routed_experts": 65_536,
    "max_position_embeddings": 16_777_216,
    "n_positions": 16_777_216,
    "max_seq_len": 16_777_216,
    # Sizes the memory estimate and the diagram read (MoE routing, attention head widths).
    "num_experts_per_tok": 65_536,
    "moe_topk": 65_536,
    "n_shared_experts": 65_536,
    "first_k_dense_replace": 1024,
    "shared_expert_intermediate_size": 1_048_576,
    "head_dim": 131_072,
    "d_kv": 131_072,
    "qk_head_dim": 131_072,
    "qk_nope_head_dim": 131_072,
    "qk_rope_head_dim": 131_072,
    "v_head_dim": 131_072,
    "kv_lora_rank": 131_072,
    "q_lora_rank": 131_072,
}
# Sizes that other sizes are divided by (or that a division yields): 0 would divide by zero.
DIVISOR_FIELDS = frozenset({"num_attention_heads", "num_key_value_heads", "n_head", "num_heads",
                            "hidden_size", "d_model", "n_embd"})
# Sizes a config class may give as an object of named sizes (LXMERT's layers per encoder:
# {"language": 9, "vision": 5, "cross_encoder": 5}); any other size given as an object is refused.
NAMED_SIZE_FIELDS = frozenset({"num_hidden_layers"})
# Sizes that are at least 1 whenever a config sets them: a token routed to no expert, a head
# of width 0, a latent of rank 0 mean no model.
# (GLM-5-Next's default ``head_dim`` is 0, meaning "derive it", so head_dim is not here.)
POSITIVE_FIELDS = DIVISOR_FIELDS | {"num_experts_per_tok", "moe_topk", "d_kv", "qk_head_dim",
                                    "v_head_dim", "kv_lora_rank", "q_lora_rank"}
MAX_CONFIG_BYTES = int(os.environ.get("LORA_EXPLORER_MAX_UPLOAD_BYTES", 1_000_000))


MAX_DEPTH = 16  # real configs nest sub-configs 2 or 3 deep


def _walk(d: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """Yield ``(dotted_path, key, value)`` for every key, nested sub-configs included."""
    if depth > MAX_DEPTH:
        raise InputError(prefix.rstrip(".")[:80] + "...", f"nests deeper than {MAX_DEPTH} levels; "
                         "a config.json nests sub-configs 2 or 3 deep, fix the file")
    for key, value in d.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key not in SIZE_LIMITS:  # a size is never an object
            yield from _walk(value, path + ".", depth + 1)
        else:
            yield path, key, value


def check_sizes(config: dict[str, Any]) -> None:
    """Raise :class:`InputError` if a size field is negative, not an integer, or absurd.

    A size may also be a list with one integer per layer (Gemma-3n's ``intermediate_size``,
    Florence-2's per-stage ``num_heads``) or an object of named integers (LXMERT's
    ``num_hidden_layers`` per encoder): each entry is checked. An integral float (``1200.0``)
    counts as an integer, as transformers reads it.

    >>> check_sizes({"num_hidden_layers": 1_000_000})
    Traceback (most recent call last):
    lora_core.errors.InputError: num_hidden_layers: 1000000 is above the limit of 1024 ...
    """
    for path, key, value in _walk(config):
        limit = SIZE_LIMITS.get(key)
        if limit is None or value is None:
            continue
        if isinstance(value, list) and value:
            for i, entry in enumerate(value):
                _check_size(f"{path}[{i}]", entry, limit)
        elif isinstance(value, dict) and value and key in NAMED_SIZE_FIELDS:
            for name, entry in value.items():
                _check_size(f"{path}.{name}", entry, limit)
        else:
            _check_size(path, value, limit)


def _check_size(path: str, value: Any, limit: int) -> None:
    """One size value: a non-negative integer (or integral float) up to ``limit``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, f"must be an integer, got {value!r}; fix the config.json "
                         "(a per-layer size is a list of integers)")
    if value < 0:
        raise InputError(path, f"must not be negative, got {value}; fix the config.json")
    key = path.rpartition(".")[2].split("[")[0]
    if value < 1 and key in DIVISOR_FIELDS:
        raise InputError(path, f"must be at least 1, got {value}: head counts and widths divide other "
                         "sizes (head_dim = hidden_size / num_attention_heads); fix the config.json")
    if value < 1 and key in POSITIVE_FIELDS:
        raise InputError(path, f"must be at least 1 when set, got {value}: no model routes a token to "
                         "0 experts or has heads or latents of width 0; fix the config.json")
    if value > limit:
        raise InputError(
            path,
            f"{value} is above the limit of {limit} this tool builds; "
            "check the config.json (is it a real model?)",
        )


# ---------------------------------------------------------------- imported adapter configs
MAX_PATTERN_CHARS = 500
MAX_UNBOUNDED_REPEATS = 3  # ".*.*.*x" over 6k module names: 0.3 s; a fourth ".*": 3 s
_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT)


def load_json_object(data: bytes | str, where: str, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """Parse JSON text into a dict; every way it can fail is an :class:`InputError` naming ``where``.

    Covers bad UTF-8 and syntax, integers of more than 4300 digits, nesting deep enough to
    exhaust the parser's recursion, text over ``limit`` bytes, and JSON that is not an object.
    """
    if len(data) > limit:
        raise InputError(where, f"{len(data):,} bytes is above the limit of {limit:,} bytes")
    try:
        d = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(where, f"is not valid JSON ({e})") from None
    except RecursionError:
        raise InputError(where, "nests JSON too deeply") from None
    if not isinstance(d, dict):
        raise InputError(where, "holds JSON but not an object")
    return d


def _subpatterns(av: Any) -> Iterator[sre_parse.SubPattern]:
    """The sub-patterns inside one parsed regex node's arguments."""
    if isinstance(av, sre_parse.SubPattern):
        yield av
    elif isinstance(av, (tuple, list)):
        for x in av:
            yield from _subpatterns(x)


def _unbounded_depths(sub: sre_parse.SubPattern, depth: int = 0) -> Iterator[int]:
    """For each unbounded repeat (``*``, ``+``, ``{n,}``), how many such repeats enclose it, plus one."""
    for op, av in sub:
        if op in _REPEATS:
            unbounded = av[1] == sre_c.MAXREPEAT
            if unbounded:
                yield depth + 1
            yield from _unbounded_depths(av[2], depth + unbounded)
        else:
            for inner in _subpatterns(av):
                yield from _unbounded_depths(inner, depth)


def check_pattern(pattern: Any, field: str) -> None:
    """Refuse a target regex that is not text, too long, invalid, or slow to match (ReDoS).

    PEFT matches with ``re``, which holds the interpreter while it backtracks, so one bad
    pattern would freeze the server for every user. Nested unbounded repeats (``(a+)+``,
    ``(.*)*``) take exponential time and more than three unbounded repeats polynomial time.

    >>> check_pattern(r".*\\.(q_proj|v_proj)", "target_modules")   # fine
    >>> check_pattern(r"(.*.*)*x", "target_modules")
    Traceback (most recent call last):
    lora_core.errors.InputError: target_modules: pattern '(.*.*)*x' nests ...
    """
    if not isinstance(pattern, str) or not pattern:
        raise InputError(field, f"must be a non-empty string, got {pattern!r}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InputError(field, f"pattern of {len(pattern):,} characters is above the limit of "
                         f"{MAX_PATTERN_CHARS}; list module names instead")
    try:
        depths = list(_unbounded_depths(sre_parse.parse(pattern)))
    except (re.error, RecursionError, OverflowError) as e:
        raise InputError(field, f"{pattern[:60]!r} is not a valid regular expression ({e}); "
                         r"e.g. .*\.(q_proj|v_proj)") from None
    if depths and max(depths) > 1:
        raise InputError(field, f"pattern {pattern[:60]!r} nests unbounded repeats (like (a+)+ or (.*)*), "
                         r"which can take exponential time; write a flat one such as .*\.(q_proj|v_proj)")
    if len(depths) > MAX_UNBOUNDED_REPEATS:
        raise InputError(field, f"pattern {pattern[:60]!r} has {len(depths)} unbounded repeats, above the "
                         f"limit of {MAX_UNBOUNDED_REPEATS} (matching slows down steeply with each)")


def _positive(value: Any, field: str, integer: bool) -> None:
    ok_type = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or not 0 < value < float("inf"):
        kind = "a positive integer" if integer else "a positive number"
        raise InputError(field, f"must be {kind}, got {value!r}")


def check_adapter_config(d: dict[str, Any]) -> None:
    """Refuse LoRA fields PEFT would accept but make no sense, and patterns that are unsafe.

    ``r``, ``lora_alpha`` and the values of ``rank_pattern`` / ``alpha_pattern`` must be
    positive; a ``target_modules`` string and the pattern keys are regexes (see
    :func:`check_pattern`); list entries are names of at most 200 characters.
    """
    if "r" in d:
        _positive(d["r"], "adapter_config: r", integer=True)
    if d.get("lora_alpha") is not None:
        _positive(d["lora_alpha"], "adapter_config: lora_alpha", integer=False)
    for name, integer in (("rank_pattern", True), ("alpha_pattern", False)):
        patterns = d.get(name) or {}
        if not isinstance(patterns, dict):
            raise InputError(f"adapter_config: {name}", f"must be an object of pattern -> value, got {patterns!r}")
        for key, value in patterns.items():
            check_pattern(key, f"adapter_config: {name}")
            _positive(value, f"adapter_config: {name}[{key[:40]!r}]", integer)
    targets = d.get("target_modules")
    if isinstance(targets, str):
        check_pattern(targets, "adapter_config: target_modules")
    elif isinstance(targets, list):
        bad = [t for t in targets if not isinstance(t, str) or not t or len(t) > 200]
        if bad:
            raise InputError("adapter_config: target_modules", f"entries must be module names of 1 to 200 "
                             f"characters, got {str(bad[0])[:60]!r}")
