"""Module tree page: the model layer by layer, folded, with a treemap by parameters."""

from ui import tree_view

tree_view.render()
