"""A Hub downloader that fails fast when the Hub cannot be reached.

``hf_hub_download`` retries for about 20 s on a DNS failure. A user (or the CLI) wants a clear
message at once, so :func:`fast_download` first checks that the Hub's host accepts a TCP
connection (2 s), honours ``HF_HUB_OFFLINE`` / ``LORA_EXPLORER_OFFLINE`` read at call time, and
then calls the real ``hf_hub_download`` with a short ``etag_timeout``. Behind an HTTP(S) proxy
the direct probe would be wrong, so it is skipped and only the short timeout applies.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from huggingface_hub import constants, hf_hub_download

PROBE_TIMEOUT_S = 2.0
ETAG_TIMEOUT_S = 5.0
_TRUE = {"1", "true", "yes", "on"}
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def offline() -> bool:
    """True when the environment says the Hub must not be contacted."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LORA_EXPLORER_OFFLINE")
    return any(os.environ.get(n, "").strip().lower() in _TRUE for n in names)


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the Hub endpoint's host resolves and accepts a TCP connection within ``timeout``."""
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def fast_download(**kwargs) -> str:
    """``hf_hub_download`` that raises ``ConnectionError`` at once when offline or unreachable.

    In offline mode a file already in the local cache is still returned.
    """
    if offline():
        return hf_hub_download(local_files_only=True, **kwargs)
    if not hub_reachable():
        raise ConnectionError("the Hugging Face Hub is not reachable from this server")
    return hf_hub_download(etag_timeout=ETAG_TIMEOUT_S, **kwargs)
