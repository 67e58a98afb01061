"""The Targets page: toggles, their notes, the training-memory section."""
