"""Export page: adapter_config.json, a Python snippet, axolotl and LLaMA-Factory YAML, PEFT's own
verification, and the audit of an existing adapter_config.json."""

from ui.export import page

page.render()
