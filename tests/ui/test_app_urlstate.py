"""Links: the query parameters carry model and plan, and a copied link restores both."""

from __future__ import annotations

import pytest

from lora_core.errors import InputError
from lora_core.planning import Plan, Target
from tests.app_support import errors, expected_trainable, model_of, open_app, plan_of, shown_trainable
from ui.common.urlstate import decode_targets, encode_layers, encode_targets, plan_from_params, plan_to_params

ROUND_TRIPS = [
    Plan((Target("q", 8), Target("v", 8))),
    Plan((Target("q", 8, 16.0), Target("ffn", 4, 2.5)), layers=(0, 1, 2, 3, 7), dora=True),
    Plan((Target("all-linear", 16),), layers=(5,), rslora=True),
    Plan((Target("model.layers.0.mlp.down_proj", 2),)),
]


@pytest.mark.parametrize("plan", ROUND_TRIPS, ids=lambda p: encode_targets(p.targets))
def test_plan_round_trips_through_params(plan):
    assert plan_from_params(plan_to_params(plan), 32) == plan


@pytest.mark.parametrize("layers, text", [((0, 1, 2, 3, 7), "0-3,7"), (None, ""), ((4,), "4"), ((1, 3, 5), "1,3,5")])
def test_encode_layers(layers, text):
    assert encode_layers(layers) == text


@pytest.mark.parametrize("text", ["q", "q=x", "=8", "q=8:a"])
def test_bad_target_text_names_the_field(text):
    with pytest.raises(InputError, match="KEY=RANK"):
        decode_targets(text)


def test_link_restores_model_and_plan():
    at = open_app("pages/targets.py", model="microsoft/Phi-3-mini-4k-instruct", t="qkv=16:8,down=4",
                  layers="0-3", dora="1")
    assert model_of(at).label == "microsoft/Phi-3-mini-4k-instruct"
    assert plan_of(at) == Plan((Target("qkv", 16, 8.0), Target("down", 4)), layers=(0, 1, 2, 3), dora=True)
    assert at.toggle(key="tg_on_qkv").value and at.number_input(key="tg_rank_qkv").value == 16
    assert at.number_input(key="tg_alpha_qkv").value == 8.0
    assert at.toggle(key="tg_dora").value and at.slider(key="tg_layers").value == (0, 3)
    assert shown_trainable(at) == expected_trainable(at)


def test_link_after_edits_reproduces_the_view():
    at = open_app("pages/targets.py")
    at.toggle(key="tg_on_o").set_value(True).run()
    at.slider(key="tg_layers").set_value((8, 15)).run()
    link = dict(at.query_params)
    again = open_app("pages/targets.py", **link)
    assert plan_of(again) == plan_of(at) and model_of(again) == model_of(at)
    assert shown_trainable(again) == shown_trainable(at)


def test_bad_link_falls_back_with_a_notice():
    at = open_app(t="q=8", layers="0-500")
    assert not at.exception and not errors(at)
    assert any("link's plan was not applied" in w.value for w in at.warning)
    assert plan_of(at) == Plan((Target("q", 8), Target("v", 8)))
