"""The Export page: adapter config, PEFT verification, recipes for other tools."""
