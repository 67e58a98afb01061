"""The check both real-adapter tables make: the product agrees with PEFT on one entry."""

from __future__ import annotations

from .product import product_figure
from .reference import peft_figure


def assert_agrees_with_peft(entry: dict) -> None:
    """Same trainable count as ``get_peft_model``, or both refuse and the product's message carries PEFT's."""
    ref = peft_figure(entry["adapter"], entry["base"])
    ours = product_figure(entry["adapter"], entry["base"])
    if ref.error is not None:
        assert ours.error is not None and ref.error.split(": ", 1)[-1][:60] in ours.error
    else:
        assert ours.error is None, ours.error
        assert ours.trainable == ref.trainable
