"""Smoke test: the app and every page run without an exception or an error element."""

from __future__ import annotations

import pytest

from tests.app_support import PAGES, errors, open_app


@pytest.fixture(scope="module")
def at():
    return open_app()


def test_entry_point_opens_on_the_model_page(at):
    assert not at.exception
    assert at.title[0].value == "Model"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(at, page):
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not errors(at)


@pytest.mark.parametrize("model", ["openai-community/gpt2", "Qwen/Qwen3-30B-A3B", "google/flan-t5-base"])
@pytest.mark.parametrize("page", ["pages/tree.py", "pages/targets.py", "pages/export.py"])
def test_pages_on_other_architectures(model, page):
    at = open_app(page, model=model)
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
