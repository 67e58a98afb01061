"""The lesson on LoRA targeting, as data and pure functions (no Streamlit).

- :mod:`.steps`: the steps (``steps.yaml``) and what each means on a model.
- :mod:`.budget`: equal budget, the rank each target set gets (the LoRA paper's Table 5 set-up).
- :mod:`.names`: a model's module names beside what a substring check finds.
- :mod:`.predict`: reading a guess and how far it was.
- :mod:`.evidence`: the published numbers (``evidence.yaml``); :mod:`.charts`: their figures.
"""
