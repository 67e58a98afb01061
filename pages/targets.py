"""Targets page: toggle roles, set ranks and layers, and watch the counts and charts update."""

from ui.targets import page

page.render()
