"""The task a LoRA is trained for: PEFT's ``task_type`` chooses the model class and the head
PEFT trains in full beside the adapters (:mod:`lora_core.model.task.types`, :mod:`lora_core.model.task.build`)."""
