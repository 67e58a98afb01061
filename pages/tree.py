"""Module tree page: the model's folded hierarchy and one layer drawn, both clickable."""

from ui.tree import page

page.render()
