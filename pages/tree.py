"""Module tree page: the model's folded hierarchy and one layer drawn, both clickable."""

from ui import tree_view

tree_view.render()
