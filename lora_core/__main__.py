"""Entry point for ``python -m lora_core``."""

import sys

from .cli import main

sys.exit(main())
