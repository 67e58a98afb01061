"""Compare page: save plans under names, see them side by side, and one plan across two models."""

from ui.compare import page

page.render()
