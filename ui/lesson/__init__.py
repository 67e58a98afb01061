"""The Lesson page: LoRA targeting taught in steps on the current model."""
