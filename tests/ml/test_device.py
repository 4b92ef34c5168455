"""Device and precision selection (``HL_DEVICE``, ``HL_PRECISION``): pure logic, no GPU needed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ml.device import (
    CPU_FP32,
    Placement,
    _cpuinfo_flags,
    available_cpus,
    batch_from_free_memory,
    cpu_has_bf16,
    resolve_device,
    resolve_precision,
)
from ml.heads import predict_proba

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "avx512f", "amx_bf16", "amx_tile"}, True),
        ({"avx2", "avx512f", "avx512_bf16"}, True),
        ({"avx2", "avx512f", "avx512_vnni"}, False),
        ({"avx", "avx2"}, False),
        (set(), False),
    ],
)
def test_cpu_bf16_needs_amx_or_avx512_bf16(flags: set[str], expected: bool) -> None:
    assert cpu_has_bf16(flags) is expected


def test_cpuinfo_flags_are_read_from_the_flags_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx2 amx_bf16 avx512_bf16\n\nprocessor\t: 1")
    assert _cpuinfo_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16", "avx512_bf16"}
    assert _cpuinfo_flags(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("name", "cuda", "expected"),
    [("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"), ("cuda", True, "cuda")],
)
def test_device_resolution(name: str, cuda: bool, expected: str) -> None:
    assert resolve_device(name, cuda_available=cuda).type == expected


@pytest.mark.parametrize(("name", "message"), [("cuda", "no CUDA device"), ("gpu", "unknown HL_DEVICE")])
def test_device_errors_are_readable(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_device(name, cuda_available=False)


@pytest.mark.parametrize(
    ("name", "device", "cpu_bf16", "cuda_bf16", "expected"),
    [
        ("auto", CPU, True, False, "bf16"),
        ("auto", CPU, False, False, "fp32"),
        ("auto", CUDA, False, True, "bf16"),
        ("auto", CUDA, False, False, "fp16"),
        ("fp32", CPU, True, False, "fp32"),
        ("bf16", CPU, False, False, "bf16"),  # asked for explicitly: emulated, slower, still honoured
        ("fp16", CUDA, False, True, "fp16"),
    ],
)
def test_precision_resolution(name: str, device: torch.device, cpu_bf16: bool, cuda_bf16: bool, expected: str) -> None:
    assert resolve_precision(name, device, cpu_bf16=cpu_bf16, cuda_bf16=cuda_bf16) == expected


@pytest.mark.parametrize(("name", "message"), [("fp16", "for CUDA devices"), ("int8", "unknown HL_PRECISION")])
def test_precision_errors_are_readable(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_precision(name, CPU, cpu_bf16=True, cuda_bf16=False)


def test_placement_autocast_runs_matmuls_at_its_precision() -> None:
    layer = nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with Placement(CPU, "bf16").autocast():
        assert layer(x).dtype == torch.bfloat16
    with CPU_FP32.autocast():
        assert layer(x).dtype == torch.float32
    assert Placement(CPU, "bf16").describe() == "cpu-bf16"
    assert Placement(CUDA, "fp16").dtype == torch.float16


def test_head_probabilities_stay_float32_under_bf16() -> None:
    torch.manual_seed(0)
    head = nn.Linear(16, 3)
    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    full = predict_proba(head, x)
    reduced = predict_proba(head, x, placement=Placement(CPU, "bf16"))
    assert reduced.dtype == np.float32
    np.testing.assert_allclose(reduced.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(reduced - full).max() < 0.05
    assert (reduced.argmax(axis=1) == full.argmax(axis=1)).mean() >= 0.8


@pytest.mark.parametrize(
    ("free", "per_item", "cap", "expected"),
    [
        (80 * 2**30, 2**30, 64, 40),  # half of 80 GiB free at 1 GiB per window
        (80 * 2**30, 2**28, 64, 64),  # capped
        (2**29, 2**30, 64, 1),  # never below one window
    ],
)
def test_batch_from_free_memory(free: int, per_item: int, cap: int, expected: int) -> None:
    assert batch_from_free_memory(free, per_item, cap=cap) == expected


def test_batch_from_free_memory_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="bytes_per_item > 0"):
        batch_from_free_memory(2**30, 0, cap=4)


@pytest.mark.parametrize(("cpu_max", "cap"), [("max 100000\n", None), ("150000 100000\n", 1), ("100000 100000", 1)])
def test_available_cpus_honours_a_cgroup_quota(tmp_path: Path, cpu_max: str, cap: int | None) -> None:
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    cpus = len(os.sched_getaffinity(0))
    assert available_cpus(path) == (cpus if cap is None else min(cpus, cap))
    assert available_cpus(tmp_path / "missing") == cpus
