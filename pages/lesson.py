"""Lesson page: LoRA targeting taught step by step on the current model."""

from ui.lesson import page

page.render()
