"""Where the models run and in which precision: ``HL_DEVICE`` and ``HL_PRECISION`` resolved against the machine.

Reduced precision is applied with :func:`torch.autocast` (weights stay float32; matrix products
and convolutions run in bfloat16 or float16, reductions such as softmax stay float32), so one
set of weights serves every precision and the outputs are cast back to float32.

* ``HL_DEVICE``: ``auto`` (CUDA when a GPU is visible, else the CPU), ``cpu`` or ``cuda``.
* ``HL_PRECISION``: ``auto``, ``fp32``, ``bf16`` or ``fp16`` (CUDA only). ``auto`` is bfloat16 on a
  CPU with AMX-BF16 or AVX512-BF16 (where oneDNN has native bfloat16 kernels; elsewhere bfloat16 is
  emulated and slower than float32), float32 on other CPUs, and on CUDA bfloat16 where the GPU
  supports it (Ampere and later), float16 otherwise.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "CPU_FP32",
    "DEVICES",
    "PRECISIONS",
    "RESOLVED_PRECISIONS",
    "Placement",
    "available_cpus",
    "batch_from_free_memory",
    "cpu_has_bf16",
    "placement",
    "resolve_device",
    "resolve_precision",
]

DEVICES = ("auto", "cpu", "cuda")
RESOLVED_PRECISIONS = ("fp32", "bf16", "fp16")
"""What ``HL_PRECISION`` resolves to (:attr:`Placement.precision`), full precision first."""
PRECISIONS = ("auto", *RESOLVED_PRECISIONS)
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@dataclass(frozen=True)
class Placement:
    """A device and the precision models run at on it.

    Attributes:
        device: where the weights and inputs live.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"``.
    """

    device: torch.device
    precision: str = "fp32"

    @property
    def dtype(self) -> torch.dtype:
        """The autocast compute dtype (``torch.float32`` for full precision)."""
        return _DTYPES.get(self.precision, torch.float32)

    def autocast(self) -> contextlib.AbstractContextManager:
        """A context in which forward passes run at this precision (a no-op context for fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def describe(self) -> str:
        """``"cpu-fp32"``, ``"cuda-bf16"`` ...: for logs, benchmarks and artifact keys."""
        return f"{self.device.type}-{self.precision}"


CPU_FP32 = Placement(torch.device("cpu"), "fp32")
"""Full precision on the CPU: what every model ran at before placements existed."""


def cpu_has_bf16(flags: Iterable[str] | None = None) -> bool:
    """Whether the CPU has native bfloat16 arithmetic (AMX-BF16 or AVX512-BF16).

    Args:
        flags: CPU feature flags as ``/proc/cpuinfo`` names them; read from ``/proc/cpuinfo`` when
            None. Without ``/proc/cpuinfo`` (not Linux), torch's ``get_cpu_capability()`` decides
            (``"AMX"`` ... only on CPUs with AMX tiles).
    """
    if flags is None:
        flags = _cpuinfo_flags()
        if flags is None:
            return torch.backends.cpu.get_cpu_capability().upper().startswith("AMX")
    return bool(_BF16_CPU_FLAGS & set(flags))


def _cpuinfo_flags(path: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def resolve_device(name: str, *, cuda_available: bool) -> torch.device:
    """The device ``HL_DEVICE`` names on a machine with or without a usable GPU.

    Raises:
        ValueError: unknown name, or ``"cuda"`` asked for where no GPU is visible.
    """
    if name not in DEVICES:
        raise ValueError(f"unknown HL_DEVICE {name!r}: use one of {', '.join(DEVICES)}")
    if name == "cuda" and not cuda_available:
        raise ValueError("HL_DEVICE=cuda but torch sees no CUDA device (use auto or cpu)")
    if name == "auto":
        return torch.device("cuda" if cuda_available else "cpu")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device, *, cpu_bf16: bool, cuda_bf16: bool) -> str:
    """The precision ``HL_PRECISION`` names on ``device``.

    Args:
        name: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device: the resolved device.
        cpu_bf16: the CPU has native bfloat16 (:func:`cpu_has_bf16`).
        cuda_bf16: the GPU supports bfloat16 (``torch.cuda.is_bf16_supported()``).

    Returns:
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Raises:
        ValueError: unknown name, or ``"fp16"`` on the CPU (no fast float16 kernels there).
    """
    if name not in PRECISIONS:
        raise ValueError(f"unknown HL_PRECISION {name!r}: use one of {', '.join(PRECISIONS)}")
    if name == "fp16" and device.type == "cpu":
        raise ValueError("HL_PRECISION=fp16 is for CUDA devices; on the CPU use bf16 or fp32")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if cuda_bf16 else "fp16"
    return "bf16" if cpu_bf16 else "fp32"


def placement(device: str = "auto", precision: str = "auto") -> Placement:
    """Resolve ``HL_DEVICE`` and ``HL_PRECISION`` against this machine.

    Raises:
        ValueError: see :func:`resolve_device` and :func:`resolve_precision`.
    """
    cuda = torch.cuda.is_available()
    resolved = resolve_device(device, cuda_available=cuda)
    cuda_bf16 = resolved.type == "cuda" and torch.cuda.is_bf16_supported()
    chosen = resolve_precision(precision, resolved, cpu_bf16=cpu_has_bf16(), cuda_bf16=cuda_bf16)
    return Placement(resolved, chosen)


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (``docker --cpus``).

    torch's default thread count is the machine's core count, which oversubscribes a container
    limited to fewer CPUs by a quota (its affinity mask still lists every core of the host).

    Args:
        cpu_max: the cgroup v2 ``cpu.max`` file (``"<quota> <period>"`` in microseconds, or ``"max <period>"``).
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    if quota == "max":
        return cpus
    return max(1, min(cpus, int(int(quota) / int(period))))


def batch_from_free_memory(free_bytes: int, bytes_per_item: int, *, cap: int, fraction: float = 0.5) -> int:
    """How many items fit in ``fraction`` of ``free_bytes``, between 1 and ``cap``.

    Args:
        free_bytes: free device memory in bytes (``torch.cuda.mem_get_info()[0]``).
        bytes_per_item: peak memory one item (e.g. one action window) needs in a forward pass.
        cap: the largest batch wanted (bigger batches stop paying off and delay the first result).
        fraction: share of the free memory a batch may use (the rest stays for the allocator's
            fragmentation and other processes on the GPU).

    Raises:
        ValueError: ``bytes_per_item`` or ``cap`` is not positive, or ``fraction`` is outside (0, 1].
    """
    if bytes_per_item <= 0 or cap <= 0 or not 0 < fraction <= 1:
        raise ValueError(f"need bytes_per_item > 0, cap > 0 and 0 < fraction <= 1: {bytes_per_item}, {cap}, {fraction}")
    return max(1, min(cap, int(free_bytes * fraction) // bytes_per_item))
