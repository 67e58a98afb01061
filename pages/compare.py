"""Compare page: save plans under names, see them side by side, and one plan across two models."""

from ui import compare_view

compare_view.render()
