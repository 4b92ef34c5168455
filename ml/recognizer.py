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

from ml.preprocessing import centre_crop, normalize
from ml.weights import VideoModelWeights


class ActionRecognizer:
    """Runs a video classifier on clips of frames.

    Args:
        model: a module mapping ``(B, 3, T, H, W)`` float32 to ``(logits (B, K), embedding (B, D))``,
            already in ``eval()`` mode.
        weights: the checkpoint's metadata (normalisation, categories, embedding size).
        crop_size: side of the square centre crop fed to the model, in pixels.
    """

    def __init__(self, model: nn.Module, weights: VideoModelWeights, *, crop_size: int) -> None:
        # Channels-last 3-D layout lets oneDNN pick faster Conv3d kernels on CPU (same results to 1e-5).
        self.model = model.to(memory_format=torch.channels_last_3d)
        self.weights = weights
        self.crop_size = crop_size

    @property
    def version(self) -> str:
        return self.weights.version

    @property
    def categories(self) -> tuple[str, ...]:
        return self.weights.categories

    def preprocess(self, clips: np.ndarray) -> torch.Tensor:
        """``(B, T, H, W, 3)`` uint8 RGB → centre-cropped, normalised ``(B, 3, T, crop, crop)`` float32.

        Raises:
            ValueError: the frames are smaller than the crop or not uint8 RGB.
        """
        x = normalize(centre_crop(clips, self.crop_size), mean=self.weights.mean, std=self.weights.std)
        return x.contiguous(memory_format=torch.channels_last_3d)

    @torch.inference_mode()
    def __call__(self, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify a batch of clips.

        Args:
            clips: ``(B, T, H, W, 3)`` uint8 RGB frames sampled at the pipeline's rate.

        Returns:
            ``(probs, embeddings)``: ``(B, K)`` float32 softmax probabilities and ``(B, D)`` float32
            L2-normalised embeddings.
        """
        logits, embedding = self.model(self.preprocess(clips))
        probs = torch.softmax(logits.float(), dim=1)
        embedding = nn.functional.normalize(embedding.float(), dim=1)
        return probs.numpy(), embedding.numpy()


Recognize = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
