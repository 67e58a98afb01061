"""Lesson page: LoRA targeting taught step by step on the current model."""

from ui import lesson_view

lesson_view.render()
