"""Model page: choose a model (preset, Hub id, local path, upload) and read its card."""

from ui.model import page

page.render()
