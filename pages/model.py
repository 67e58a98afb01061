"""Model page: choose a model (preset, Hub id, local path, upload) and read its card."""

from ui import model_view

model_view.render()
