"""Action recognition on batches of decoded frames, for any video model that returns (logits, embedding).

The pipeline hands uint8 frames straight from the decoder; this module does the model's
preprocessing (centre crop, scaling to [0, 1], per-channel normalisation, layout change to
``(B, C, T, H, W)``) and returns class probabilities and L2-normalised embeddings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ml.device import CPU_FP32, Placement, batch_from_free_memory
from ml.weights import VideoModelWeights


def resize_short_side(crop_size: int, weights: VideoModelWeights) -> int:
    """Short side, in pixels, to decode frames at so that a ``crop_size`` centre crop keeps the
    model's reference resize/crop ratio (256/224 for I3D)."""
    return round(crop_size * weights.resize_short / weights.crop_size)


class ActionRecognizer:
    """Runs a video classifier on clips of frames.

    Args:
        model: a module mapping ``(B, 3, T, H, W)`` float32 to ``(logits (B, K), embedding (B, D))``,
            already in ``eval()`` mode.
        weights: the checkpoint's metadata (normalisation, categories, embedding size).
        crop_size: side of the square centre crop fed to the model, in pixels.
        placement: the device the model runs on and its precision (autocast); float32 on the CPU
            by default.
    """

    def __init__(
        self, model: nn.Module, weights: VideoModelWeights, *, crop_size: int, placement: Placement = CPU_FP32
    ) -> None:
        # Channels-last 3-D layout lets oneDNN pick faster Conv3d kernels on CPU (same results to 1e-5).
        self.placement = placement
        self.model = model.to(device=placement.device, memory_format=torch.channels_last_3d)
        self.weights = weights
        self.crop_size = crop_size
        # Scaling to [0, 1] folded into the normalisation: x' = (x - 255 mean) / (255 std).
        mean = torch.tensor(weights.mean, dtype=torch.float32, device=placement.device).view(1, 3, 1, 1, 1)
        std = torch.tensor(weights.std, dtype=torch.float32, device=placement.device).view(1, 3, 1, 1, 1)
        self._offset, self._scale = mean * 255.0, 1.0 / (std * 255.0)

    @property
    def version(self) -> str:
        return self.weights.version

    @property
    def categories(self) -> tuple[str, ...]:
        return self.weights.categories

    def batch_windows(self, configured: int, window_frames: int) -> int:
        """Windows per forward pass: ``configured`` on the CPU; on CUDA as many as half the free memory holds.

        On CUDA one window of ``window_frames`` frames is run once to measure its peak memory, and the
        batch is sized from ``torch.cuda.mem_get_info()`` (at most 64 windows).
        """
        device = self.placement.device
        if device.type != "cuda":
            return configured
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        self(np.zeros((1, window_frames, self.crop_size, self.crop_size, 3), dtype=np.uint8))
        per_window = max(1, torch.cuda.max_memory_allocated(device) - base)
        free, _ = torch.cuda.mem_get_info(device)
        return batch_from_free_memory(free, per_window, cap=64)

    def preprocess(self, clips: np.ndarray) -> torch.Tensor:
        """``(B, T, H, W, 3)`` uint8 RGB → centre-cropped, normalised ``(B, 3, T, crop, crop)`` float32.

        The result is on the placement's device in the channels-last 3-D layout, which is the
        decoder's own ``(B, T, H, W, C)`` memory order: the crop is copied once (as uint8, before the
        transfer to a GPU), converted to float once, and normalised in place.

        Raises:
            ValueError: the frames are smaller than the crop or not uint8 RGB.
        """
        if clips.ndim != 5 or clips.shape[-1] != 3 or clips.dtype != np.uint8:
            raise ValueError(f"expected (B, T, H, W, 3) uint8 clips, got {clips.shape} {clips.dtype}")
        _, _, height, width, _ = clips.shape
        if min(height, width) < self.crop_size:
            raise ValueError(f"frames {width}x{height} are smaller than the {self.crop_size}px crop")
        top = (height - self.crop_size) // 2
        left = (width - self.crop_size) // 2
        crop = clips[:, :, top : top + self.crop_size, left : left + self.crop_size]
        pixels = torch.from_numpy(np.ascontiguousarray(crop)).to(self.placement.device, non_blocking=True)
        x = pixels.permute(0, 4, 1, 2, 3).float()  # keeps the (B, T, H, W, C) strides: channels-last 3-D
        return x.sub_(self._offset).mul_(self._scale)

    @torch.inference_mode()
    def __call__(self, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify a batch of clips.

        Args:
            clips: ``(B, T, H, W, 3)`` uint8 RGB frames sampled at the pipeline's rate.

        Returns:
            ``(probs, embeddings)``: ``(B, K)`` float32 softmax probabilities and ``(B, D)`` float32
            L2-normalised embeddings.
        """
        x = self.preprocess(clips)
        with self.placement.autocast():
            logits, embedding = self.model(x)
        probs = torch.softmax(logits.float(), dim=1)
        embedding = nn.functional.normalize(embedding.float(), dim=1)
        return probs.cpu().numpy(), embedding.cpu().numpy()


Recognize = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
