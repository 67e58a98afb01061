"""Predict, then reveal: a step's question, the student's guess, then the answer and how far off.

Until the guess is revealed the step's picture stays hidden (it would give the answer away).
A reveal is remembered per (step, model), so switching to another model asks again.
"""

from __future__ import annotations

import streamlit as st

from lora_core.numbers import human
from lora_core.errors import InputError
from lora_core.lesson.breakdown import larger_answer
from lora_core.lesson.predict import how_far, judge_choice, parse_count
from lora_core.lesson.steps import Step
from lora_core.planning import Plan, count

from ..common import widgets
from . import parts as lesson_parts
from ..common.loaded_model import LoadedModel
from ..common.plan_views import PlanView

REVEALED, GUESS_ERROR = "ls_revealed", "ls_guess_error"
YES, NO = "Yes, it fits", "No, it does not"


def _key(step: Step, model: LoadedModel) -> tuple[str, str]:
    return step.id, model.ref.label


def _reveal(key: tuple[str, str], guess_key: str, numeric: bool) -> None:
    ss = st.session_state
    ss.pop(GUESS_ERROR, None)
    guess = ss.get(guess_key)
    if numeric:
        try:
            guess = parse_count(str(guess or ""))
        except InputError as e:
            ss[GUESS_ERROR] = e
            return
    ss[REVEALED] = {**ss.get(REVEALED, {}), key: guess}


def _again(key: tuple[str, str]) -> None:
    st.session_state[REVEALED] = {k: v for k, v in st.session_state.get(REVEALED, {}).items() if k != key}


def question(step: Step, model: LoadedModel, view: PlanView) -> tuple[str, object, str]:
    """The question, the answer, and how the answer is said, for this step on this model."""
    kind = step.predict.kind
    plan_text = lesson_parts.plan_text(view.plan)
    if kind == "trainable":
        truth = view.count.trainable
        return f"How many parameters does `{plan_text}` train on {model.ref.label}?", truth, f"{truth:,} ({human(truth)})"
    if kind == "larger":
        other = Plan(step.predict.other)
        b = count(other, model.index).trainable
        a_label, b_label = plan_text, step.predict.other_label or lesson_parts.plan_text(other)
        answer = larger_answer(view.count.trainable, b, a_label, b_label)
        return (f"Which trains more on {model.ref.label}: `{a_label}` or `{b_label}`?", answer,
                f"`{answer}`: {human(view.count.trainable)} against {human(b)} trainable parameters")
    est, _ = lesson_parts.memory_estimate(model, view)
    fits = est.fits(24)
    return (f"Does training `{plan_text}` on {model.ref.label} fit on a 24 GB GPU (bf16 weights, batch 1, "
            "2,048 tokens, gradient checkpointing)?", YES if fits else NO,
            f"{'yes' if fits else 'no'}: about {est.nvidia_smi / 2**30:.1f} GiB as nvidia-smi would show it")


def ask(step: Step, model: LoadedModel, view: PlanView) -> bool:
    """Draw the question, or the answer once revealed; True when the step's picture may show."""
    key = _key(step, model)
    text, answer, said = question(step, model, view)
    revealed = st.session_state.get(REVEALED, {})
    st.markdown(f"🤔 **Predict first.** {text}")
    if key in revealed:
        guess = revealed[key]
        if step.predict.kind == "trainable":
            st.success(f"Answer: **{said}**. Your guess, {guess:,}, was {how_far(guess, answer)}.", icon="🎯")
        else:
            verdict = judge_choice(str(guess), str(answer))
            st.success(f"Answer: {said}. You said `{guess}`: {verdict}.", icon="🎯")
        st.button("Ask again", key="ls_again", on_click=_again, args=(key,))
        return True
    guess_key = f"ls_guess_{step.id}"
    if step.predict.kind == "trainable":
        st.text_input("Your guess", key=guess_key, placeholder="e.g. 3.4M, 3400000 or 2e6")
    elif step.predict.kind == "larger":
        a = lesson_parts.plan_text(view.plan)
        b = step.predict.other_label or lesson_parts.plan_text(Plan(step.predict.other))
        st.radio("Your guess", [a, b, "equal"], key=guess_key, horizontal=True)
    else:
        st.radio("Your guess", [YES, NO], key=guess_key, horizontal=True)
    if GUESS_ERROR in st.session_state:
        widgets.show_error(st.session_state[GUESS_ERROR])
    st.button("Reveal", key="ls_reveal", type="primary", on_click=_reveal,
              args=(key, guess_key, step.predict.kind == "trainable"))
    st.caption("The step's chart appears with the answer.")
    return False
