"""Which GPU sizes a plan fits, by the nvidia-smi figure, and the headroom left on each."""

from __future__ import annotations

import pandas as pd

GPU_SIZES_GB: tuple[int, ...] = (16, 24, 40, 80)


def fits_table(estimate, sizes: tuple[int, ...] = GPU_SIZES_GB) -> pd.DataFrame:
    """Columns ``gpu_gb``, ``fits``, ``headroom_bytes`` (GPU GiB - nvidia-smi figure), one row per size."""
    rows = [(gb, estimate.fits(gb), estimate.headroom(gb)) for gb in sizes]
    return pd.DataFrame(rows, columns=["gpu_gb", "fits", "headroom_bytes"])


def fits_payload(estimate, sizes: tuple[int, ...] = GPU_SIZES_GB) -> dict[str, dict]:
    """``{"24": {"fits": true, "headroom": 3221225472}, ...}`` for ``plan --json``."""
    return {str(gb): {"fits": estimate.fits(gb), "headroom": estimate.headroom(gb)} for gb in sizes}
