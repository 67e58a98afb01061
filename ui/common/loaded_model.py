"""Loading a model once per server: source -> meta skeleton -> inventory -> plan index.

``load`` is wrapped in ``st.cache_resource`` keyed by the model reference (source kind, label,
revision, and for uploads the content hash), so a rerun never rebuilds the skeleton or walks the
model again. The cached object is shared by every session and must be treated as read-only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from lora_core.model import sources
from lora_core.errors import InputError
from lora_core.model import open_model
from lora_core.planning import PlanIndex
from lora_core.model.skeleton import Skeleton
from lora_core.model.summary import ModelSummary

from .plan_views import PlanViews
from ..targets.surprises import NameFacts
from ..targets.toggles import toggles_for


@dataclass(frozen=True)
class ModelRef:
    """Where the current model comes from; small, hashable, kept in session state.

    Attributes:
        kind: ``preset``, ``hub``, ``local`` or ``upload``.
        label: the preset or Hub id, the path, or the uploaded file's name.
        revision: Hub revision, if any.
        digest: sha256 of uploaded bytes (uploads only).
        trust_remote_code: whether the user allowed code from the Hub repository.
        task: the task the LoRA is trained for (PEFT's ``task_type``); ``None`` builds the class
            the config names. It picks the model class and the head PEFT trains in full.
        num_labels: classes of a classification head (``None``: the config's).
    """

    kind: str
    label: str
    revision: str | None = None
    digest: str | None = None
    trust_remote_code: bool = False
    task: str | None = None
    num_labels: int | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the pages: source, skeleton, inventory, plan index, its summary, the
    Targets toggles, the name facts behind the Targets page's notes, and the Targets page's
    views of the plans seen so far on this model (shared by every session, bounded)."""

    ref: ModelRef
    source: sources.ModelSource = field(repr=False)
    skeleton: Skeleton = field(repr=False)
    inventory: pd.DataFrame = field(repr=False)
    index: PlanIndex = field(repr=False)
    toggles: tuple = field(repr=False, default=())
    facts: NameFacts | None = field(repr=False, default=None)
    summary: ModelSummary | None = field(repr=False, default=None)
    views: PlanViews = field(repr=False, default_factory=PlanViews, compare=False)


def digest_of(data: bytes) -> str:
    """The content hash that keys an uploaded config in the cache."""
    return hashlib.sha256(data).hexdigest()


def _source(ref: ModelRef, data: bytes | None) -> sources.ModelSource:
    if ref.kind == "preset":
        return sources.from_preset(ref.label)
    if ref.kind == "hub":
        return sources.from_hub(ref.label, revision=ref.revision or None,
                                trust_remote_code=ref.trust_remote_code)
    if ref.kind == "local":
        return sources.from_path(ref.label, sources.allowed_root_from_env())
    if ref.kind == "upload":
        if data is None:
            raise InputError("upload", "the uploaded config.json is no longer held by this "
                             "session; upload it again")
        return sources.from_upload(data, ref.label)
    raise InputError("source", f"unknown model source {ref.kind!r}")


@st.cache_resource(max_entries=8, show_spinner="Building the model on the meta device…")
def _load(ref: ModelRef, _data: bytes | None) -> LoadedModel:
    opened = open_model(_source(ref, _data), ref.task, ref.num_labels)
    inv = opened.inventory
    return LoadedModel(ref, opened.source, opened.skeleton, inv, PlanIndex(inv), tuple(toggles_for(inv)),
                       NameFacts.of(inv), opened.summary)


def load(ref: ModelRef, data: bytes | None = None) -> LoadedModel:
    """The model for ``ref``, built once per server; raises ``InputError`` for a bad source.

    For uploads ``data`` holds the bytes; the cache is keyed by ``ref.digest``.
    """
    return _load(ref, data)
