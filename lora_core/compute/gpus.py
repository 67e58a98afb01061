"""GPUs: peak dense bf16 tensor throughput, memory, bandwidth and interconnect, from vendors' datasheets.

``tflops`` is the dense figure (datasheets print the 2:4-sparse one beside it, twice as large; the
GeForce/RTX figures are "FP16/BF16 tensor with FP32 accumulate"). ``link_gbs`` is the GPU-to-GPU
bandwidth in one direction, GB/s (NVLink figures in datasheets are both directions: halved here).
``price`` is a dated default per GPU-hour ``(low, high)`` in USD where a source was read, else
``None`` (give ``--price``); every user can change it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class Gpu:
    """One GPU model. Example: ``GPUS["h100-80gb"].tflops == 989.0``."""

    name: str
    label: str
    memory_gib: float
    tflops: float
    bandwidth_gbs: float
    link_gbs: float
    link: str
    host_gbs: float
    source: str
    price: tuple[float, float] | None = None
    price_source: str = ""

    @property
    def default_price(self) -> float | None:
        """The middle of the sourced range, or ``None``."""
        return round(sum(self.price) / 2, 2) if self.price else None


_H100 = "NVIDIA H100 Tensor Core GPU datasheet (SXM: BF16 1,979 TFLOPS with sparsity, 3.35 TB/s, NVLink 900 GB/s)"
_PRICE_2026 = "aiapiplaybook.com 'GPU Cloud Pricing 2026' (2026-01-15): H100 SXM $1.49-2.10/h; A100 below $1/h"
GPUS: dict[str, Gpu] = {g.name: g for g in (
    Gpu("h100-80gb", "H100 SXM 80GB", 80, 989.0, 3350, 450, "NVLink 4 (900 GB/s both ways)", 64, _H100,
        (1.49, 2.10), _PRICE_2026),
    Gpu("h100-pcie", "H100 PCIe 80GB", 80, 756.0, 2000, 64, "PCIe Gen5 x16 (128 GB/s both ways)", 64,
        "NVIDIA H100 datasheet (PCIe: BF16 1,513 TFLOPS with sparsity, 2 TB/s)"),
    Gpu("h200", "H200 SXM 141GB", 141, 989.0, 4800, 450, "NVLink 4 (900 GB/s both ways)", 64,
        "NVIDIA H200 datasheet (BF16 1,979 TFLOPS with sparsity, 4.8 TB/s, NVLink 900 GB/s)"),
    Gpu("b200", "B200 180GB", 180, 2250.0, 8000, 900, "NVLink 5 (1.8 TB/s both ways)", 64,
        "NVIDIA HGX B200 datasheet (BF16 4.5 PFLOPS with sparsity per GPU, 8 TB/s, NVLink 1.8 TB/s)"),
    Gpu("a100-80gb", "A100 SXM 80GB", 80, 312.0, 2039, 300, "NVLink 3 (600 GB/s both ways)", 32,
        "NVIDIA A100 datasheet (BF16 312 TFLOPS dense, 2,039 GB/s, NVLink 600 GB/s)", (0.86, 1.00), _PRICE_2026),
    Gpu("a100-40gb", "A100 SXM 40GB", 40, 312.0, 1555, 300, "NVLink 3 (600 GB/s both ways)", 32,
        "NVIDIA A100 datasheet (BF16 312 TFLOPS dense, 1,555 GB/s, NVLink 600 GB/s)"),
    Gpu("l40s", "L40S 48GB", 48, 362.05, 864, 32, "PCIe Gen4 x16 (64 GB/s both ways)", 32,
        "NVIDIA L40S datasheet (BF16 733 TFLOPS with sparsity, 864 GB/s, PCIe Gen4 x16)"),
    Gpu("a6000", "RTX A6000 48GB", 48, 154.8, 768, 56, "NVLink bridge (112.5 GB/s both ways)", 32,
        "NVIDIA RTX A6000 datasheet (tensor 309.7 TFLOPS with sparsity, 768 GB/s, NVLink 112.5 GB/s)"),
    Gpu("a6000-ada", "RTX 6000 Ada 48GB", 48, 364.2, 960, 32, "PCIe Gen4 x16 (64 GB/s both ways)", 32,
        "NVIDIA RTX 6000 Ada datasheet (tensor 1,457 TFLOPS FP8 sparse; BF16 dense 364.2, 960 GB/s)"),
    Gpu("a5000", "RTX A5000 24GB", 24, 111.1, 768, 56, "NVLink bridge (112.5 GB/s both ways)", 32,
        "NVIDIA RTX A5000 datasheet (tensor 222.2 TFLOPS with sparsity, 768 GB/s)"),
    Gpu("rtx-4090", "GeForce RTX 4090 24GB", 24, 165.2, 1008, 32, "PCIe Gen4 x16 (64 GB/s both ways)", 32,
        "NVIDIA Ada GPU architecture whitepaper, RTX 4090: FP16/BF16 tensor FP32-accumulate 165.2 TFLOPS, 1,008 GB/s"),
    Gpu("rtx-3090", "GeForce RTX 3090 24GB", 24, 71.0, 936, 16, "PCIe Gen4 (no NVLink; x8 lanes typical)", 16,
        "NVIDIA Ampere GA102 whitepaper, RTX 3090: FP16/BF16 tensor FP32-accumulate 71 TFLOPS, 936 GB/s",
        (0.33, 0.33), "kaitchup.substack.com (2024-08-05): 2x RTX 3090 on RunPod $0.66/h"),
    Gpu("mi300x", "AMD Instinct MI300X 192GB", 192, 1307.4, 5300, 448, "Infinity Fabric (896 GB/s aggregate)", 64,
        "AMD Instinct MI300X datasheet (BF16 1,307.4 TFLOPS dense, 5.3 TB/s)"),
)}
GPU_NAMES: tuple[str, ...] = tuple(GPUS)


def get_gpu(name: str) -> Gpu:
    """``GPUS[name]`` or an ``InputError`` naming the choices."""
    try:
        return GPUS[name]
    except (KeyError, TypeError):
        raise InputError("gpu", f"unknown GPU {name!r}; choose from {', '.join(GPU_NAMES)}") from None
