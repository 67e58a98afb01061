"""The Targets page's training settings outlive a page switch, and the Export page writes its recipes
with them (Streamlit drops a widget's key on a page that does not draw it: the section keeps its
settings under a plain key, ``ui.targets.memory.SAVED``)."""

from __future__ import annotations

from tests.app_support import errors, open_app


def test_the_memory_settings_outlive_a_visit_to_the_export_page():
    at = open_app("pages/targets.py")
    at.selectbox(key="tg_mem_seq").select(4096).run()
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    at.number_input(key="tg_mem_batch").set_value(2).run()
    at.switch_page("pages/export.py").run()
    at.run()  # a second run on the Export page: the Targets widgets' keys are gone by now
    assert not at.exception and not errors(at)
    saved = at.session_state["memory_settings"]
    assert (saved.seq_len, saved.base_dtype, saved.batch_size) == (4096, "nf4", 2)
    at.switch_page("pages/targets.py").run()
    assert at.selectbox(key="tg_mem_seq").value == 4096 and at.selectbox(key="tg_mem_dtype").value == "nf4"
    assert at.number_input(key="tg_mem_batch").value == 2
