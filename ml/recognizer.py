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
from ml.preprocessing import centre_crop, normalize
from ml.weights import VideoModelWeights


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
        crop = centre_crop(clips, self.crop_size)
        return normalize(crop, mean=self.weights.mean, std=self.weights.std, device=self.placement.device)

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
