"""Targets page: toggle roles, set ranks and layers, and watch the counts and charts update."""

from ui import targets_view

targets_view.render()
