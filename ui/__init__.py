"""The app layer: session state and query-param sync, cached model loading, shared widgets.

Only this package and ``pages/`` import streamlit; ``lora_core`` never does.
"""
