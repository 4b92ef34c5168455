"""Synthetic dlib-like face descriptors for the unit tests of pure face logic."""

from __future__ import annotations

import numpy as np


def unit(seed: int) -> np.ndarray:
    """A random ``(128,)`` float32 descriptor with a dlib-like norm (1.5)."""
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return vector / np.linalg.norm(vector) * 1.5


def near(vector: np.ndarray, seed: int, scale: float = 0.02) -> np.ndarray:
    """``vector`` plus Gaussian noise of standard deviation ``scale`` (the same person)."""
    return (vector + np.random.default_rng(seed).normal(scale=scale, size=128)).astype(np.float32)
