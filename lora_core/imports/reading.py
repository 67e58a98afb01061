"""Reading a recipe someone else wrote, bounded: size, YAML aliases and nesting, Python syntax.

Every failure is an :class:`~lora_core.errors.InputError` naming the field, e.g.
``recipe: 52,428,800 bytes is above the limit of 1,000,000 bytes for a recipe``.
"""

from __future__ import annotations

import ast
from typing import Any

import yaml

from ..errors import InputError

MAX_RECIPE_BYTES = 1_000_000
MAX_YAML_ALIASES = 64      # a training config uses a handful of anchors at most; a "billion laughs" uses many
MAX_YAML_DEPTH = 16
MAX_YAML_NODES = 50_000


def as_text(data: bytes | str, where: str = "recipe") -> str:
    """The recipe's text, refused when it is too large or not UTF-8."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_RECIPE_BYTES:
        raise InputError(where, f"{size:,} bytes is above the limit of {MAX_RECIPE_BYTES:,} bytes for a recipe; "
                         "give the training YAML, the Python snippet or the adapter_config.json, not weights")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(where, "is not UTF-8 text; give a YAML file, a Python snippet or an adapter folder") from None


def _check_events(text: str, where: str) -> None:
    """Refuse YAML whose aliases or nesting would blow up once expanded (``a: &a [*b, *b, ...]``)."""
    aliases = depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            nodes += isinstance(event, yaml.NodeEvent)
            if aliases > MAX_YAML_ALIASES:
                raise InputError(where, f"uses more than {MAX_YAML_ALIASES} YAML aliases (a YAML bomb?); "
                                 "a training config needs a few at most")
            if depth > MAX_YAML_DEPTH or nodes > MAX_YAML_NODES:
                raise InputError(where, f"nests deeper than {MAX_YAML_DEPTH} levels or holds more than "
                                 f"{MAX_YAML_NODES:,} values; this is not a training config")
    except yaml.YAMLError as e:
        raise InputError(where, f"is not valid YAML ({_one_line(e)})") from None


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:300]


class _UniqueKeyLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a key given twice in one mapping (the trainers' OmegaConf does too)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key) if isinstance(key, str) else None
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, where: str = "recipe") -> dict[str, Any]:
    """A YAML mapping, parsed with ``SafeLoader`` after the alias and depth checks; keys must be unique."""
    _check_events(text, where)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as e:
        raise InputError(where, f"is not valid YAML ({_one_line(e)})") from None
    if not isinstance(data, dict):
        raise InputError(where, f"holds YAML but not a mapping of settings (got {type(data).__name__})")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise InputError(where, f"has a key that is not a name: {bad[0]!r}")
    return data


def parse_python(text: str, where: str = "recipe") -> ast.Module:
    """The snippet's syntax tree (it is never executed)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise InputError(where, f"is not valid Python ({_one_line(e)})") from None


def literal(node: ast.expr, where: str) -> Any:
    """A keyword argument's value when it is a literal (``r=16``, ``target_modules=["q_proj"]``)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise InputError(where, f"is not a literal ({ast.unparse(node)[:80]}); write the value itself") from None
