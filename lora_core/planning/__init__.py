"""LoRA plans: which rows they wrap at what rank, what they train, and their exact PEFT config."""
