"""Input preprocessing shared by every model in ``ml``: decode size, centre crop and normalisation, L2 norm.

The models follow the reference evaluation of their checkpoints (torchvision's and PyTorchVideo's
transforms): decode with the short side at ``resize_short`` pixels, centre-crop ``crop_size`` x
``crop_size`` pixels, scale RGB to ``[0, 1]`` and normalise each channel with the checkpoint's mean
and std. Clip embeddings are compared by cosine similarity, so they are stored L2-normalised.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

#: Norm below which a vector is treated as zero and returned unscaled by :func:`l2_normalize`.
_EPS = 1e-12


class ResizeCrop(Protocol):
    """A checkpoint's reference resize and crop (``VideoModelWeights``, ``ImageModelWeights``)."""

    @property
    def resize_short(self) -> int: ...

    @property
    def crop_size(self) -> int: ...


def resize_short_side(crop_size: int, weights: ResizeCrop) -> int:
    """Short side, in pixels, to decode frames at so that a ``crop_size`` centre crop keeps the
    checkpoint's reference resize/crop ratio (256/224 for I3D and the ImageNet MobileNetV2)."""
    return round(crop_size * weights.resize_short / weights.crop_size)


def centre_crop(clips: np.ndarray, crop_size: int) -> np.ndarray:
    """The square centre of every frame of uint8 RGB clips.

    Args:
        clips: ``(B, T, H, W, 3)`` uint8 RGB frames, short side at least ``crop_size`` pixels.
        crop_size: side of the square centre crop, in pixels.

    Returns:
        ``(B, T, crop_size, crop_size, 3)`` uint8, a contiguous copy.

    Raises:
        ValueError: the clips are not uint8 RGB of that shape, or smaller than the crop.
    """
    if clips.ndim != 5 or clips.shape[-1] != 3 or clips.dtype != np.uint8:
        raise ValueError(f"expected (B, T, H, W, 3) uint8 clips, got {clips.shape} {clips.dtype}")
    height, width = clips.shape[2:4]
    if min(height, width) < crop_size:
        raise ValueError(f"frames {width}x{height} are smaller than the {crop_size}px crop")
    top, left = (height - crop_size) // 2, (width - crop_size) // 2
    return np.ascontiguousarray(clips[:, :, top : top + crop_size, left : left + crop_size])


def normalize(
    crop: np.ndarray,
    *,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    device: torch.device | None = None,
) -> torch.Tensor:
    """uint8 RGB clips → the models' float input layout, normalised per channel.

    The uint8 crop is moved to ``device`` as it is, converted to float once there, and normalised in
    place, with the scaling to ``[0, 1]`` folded into the statistics: ``(x - 255 mean) / (255 std)``.

    Args:
        crop: ``(B, T, H, W, 3)`` uint8 RGB (see :func:`centre_crop`).
        mean, std: per-channel normalisation of RGB scaled to ``[0, 1]``: ``(x / 255 - mean) / std``.
        device: where the result lives (the CPU by default).

    Returns:
        ``(B, 3, T, H, W)`` float32 on ``device``, in the channels-last 3-D memory layout (the crop's own
        ``(B, T, H, W, C)`` order: the channel axis is permuted, not copied).

    Raises:
        ValueError: ``crop`` is not uint8.
    """
    if crop.dtype != np.uint8:
        raise ValueError(f"expected uint8 clips, got {crop.dtype}")
    x = torch.from_numpy(crop).to(device or torch.device("cpu"), non_blocking=True).permute(0, 4, 1, 2, 3).float()
    offset = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1, 1) * 255.0
    scale = 1.0 / (torch.tensor(std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1, 1) * 255.0)
    return x.sub_(offset).mul_(scale)


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale vectors to unit Euclidean norm along the last axis (zero vectors stay zero).

    Args:
        vectors: ``(..., D)`` float array.

    Returns:
        float32 array of the same shape.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, _EPS)
