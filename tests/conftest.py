"""Settings every test starts from."""

import os

# The CLI's result cache (lora_core.cli.result_cache) is off unless a test turns it on with its
# own folder: tests that change what a command sees must not be answered from an earlier run.
os.environ.setdefault("LORA_EXPLORER_CACHE_DIR", "off")
