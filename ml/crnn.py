"""CRNN video classifiers for editors' own actions: a per-frame MobileNetV2, a GRU over time, a linear head.

References:
    J. Donahue et al., "Long-term Recurrent Convolutional Networks for Visual Recognition and
    Description", CVPR 2015 (arXiv:1411.4389): a 2-D CNN encodes every frame, a recurrent network
    integrates the sequence, the last state is classified. Here the CNN is MobileNetV2 (Sandler et
    al., CVPR 2018) with ImageNet weights, and the recurrent network a one-layer GRU.

    K. Simonyan and A. Zisserman, "Two-Stream Convolutional Networks for Action Recognition in
    Videos", NeurIPS 2014 (arXiv:1406.2199): an appearance stream on RGB frames and a motion stream on
    optical flow, fused late by averaging their softmax scores. :class:`TwoStreamCRNN` builds both
    streams as CRNNs; the flow stream's 2-channel stem starts from the ImageNet RGB stem averaged over
    its input channels (the cross-modality initialisation of Wang et al., "Temporal Segment Networks",
    ECCV 2016).

Transfer learning on the CPU: the backbone is frozen except its last ``trainable_blocks`` feature
blocks, and its batch-norm statistics stay those of ImageNet (a few dozen clips are too few to
re-estimate them), so a fine-tune over a few dozen clips of 8 frames at 112 px takes minutes.

Input convention, shared with the I3D and SlowFast models: ``(B, C, T, H, W)`` float32, where the
first 3 channels are RGB in ``[0, 1]`` normalised with the ImageNet mean and std, and for the
two-stream model 2 more channels hold the optical flow (x, y) to the next frame, in pixels / 20,
clipped to ``[-1, 1]`` (:func:`clip_tensor` builds either from uint8 frames). Both models return
``(logits (B, K), embedding (B, D))``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the PyTorch convention)
from torch import Tensor, nn

from ml.heads import balanced_class_weights
from ml.mobilenet_v2 import LAST_CHANNELS, ImageModelWeights, MobileNetV2
from ml.preprocessing import centre_crop, normalize

__all__ = ["CRNN", "TwoStreamCRNN", "clip_tensor", "fine_tune", "fine_tune_step", "flow_backbone", "optical_flow"]

#: Optical flow, in pixels, that maps to 1.0 in the flow channels (larger displacements are clipped).
FLOW_BOUND_PX = 20.0


class CRNN(nn.Module):
    """Per-frame CNN features → GRU over time → linear classifier (Donahue et al., CVPR 2015).

    Args:
        backbone: a MobileNetV2 (ImageNet-initialised for transfer learning); its ``features`` are kept,
            its classifier dropped.
        num_classes: K, the labels to predict.
        hidden_size: GRU state size, i.e. the embedding size D.
        dropout: dropout on the last GRU state before the classifier.
        trainable_blocks: how many of the backbone's last feature blocks are fine-tuned (19 blocks in all;
            0 freezes the backbone so only the GRU and the classifier learn).
    """

    def __init__(
        self,
        backbone: MobileNetV2,
        num_classes: int,
        *,
        hidden_size: int = 256,
        dropout: float = 0.3,
        trainable_blocks: int = 2,
    ) -> None:
        super().__init__()
        self.features = backbone.features
        self.gru = nn.GRU(LAST_CHANNELS, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_classes)
        frozen = len(self.features) - max(0, min(trainable_blocks, len(self.features)))
        for block in self.features[:frozen]:
            block.requires_grad_(False)

    def train(self, mode: bool = True) -> CRNN:
        """Set training mode, keeping the backbone's batch-norm layers on their ImageNet statistics."""
        super().train(mode)
        for module in self.features.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Classify clips.

        Args:
            x: ``(B, C, T, H, W)`` float32 normalised frames (C = the backbone's input channels).

        Returns:
            ``(logits, embedding)``: logits ``(B, K)``; embedding ``(B, hidden_size)``, the GRU's last state.

        Raises:
            ValueError: ``x`` is not 5-dimensional.
        """
        if x.dim() != 5:
            raise ValueError(f"expected a (B, C, T, H, W) clip, got shape {tuple(x.shape)}")
        batch, channels, frames, height, width = x.shape
        images = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        per_frame = self.features(images).mean(dim=(2, 3)).view(batch, frames, -1)  # (B, T, 1280)
        _, last = self.gru(per_frame)  # (1, B, hidden)
        embedding = last[-1]
        return self.classifier(self.dropout(embedding)), embedding


def flow_backbone(rgb: MobileNetV2) -> MobileNetV2:
    """A 2-channel MobileNetV2 for optical flow, initialised from an RGB one (cross-modality initialisation).

    Every weight is copied; the stem's ``(32, 3, 3, 3)`` kernel becomes ``(32, 2, 3, 3)`` by averaging
    over the RGB channels and repeating the mean for the flow's x and y channels.
    """
    flow = MobileNetV2(num_classes=rgb.classifier[1].out_features, in_channels=2)
    state = rgb.state_dict()
    stem = state["features.0.0.weight"]
    state["features.0.0.weight"] = stem.mean(dim=1, keepdim=True).repeat(1, 2, 1, 1)
    flow.load_state_dict(state, strict=True)
    return flow.train(rgb.training)


class TwoStreamCRNN(nn.Module):
    """An RGB CRNN and an optical-flow CRNN fused late by averaging softmax scores (Simonyan & Zisserman 2014).

    Args:
        rgb: the appearance stream, on input channels 0-2.
        flow: the motion stream (a CRNN on a 2-channel backbone), on input channels 3-4.
    """

    def __init__(self, rgb: CRNN, flow: CRNN) -> None:
        super().__init__()
        self.rgb = rgb
        self.flow = flow

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Classify clips with both streams.

        Args:
            x: ``(B, 5, T, H, W)`` float32: normalised RGB in channels 0-2, scaled flow in channels 3-4.

        Returns:
            ``(logits, embedding)``: ``(B, K)`` log of the mean of the two streams' softmax (so
            ``softmax(logits)`` is the fused probability and cross-entropy trains both streams), and
            ``(B, 2 * hidden_size)``, the two streams' embeddings concatenated.

        Raises:
            ValueError: ``x`` does not have 5 channels.
        """
        if x.dim() != 5 or x.shape[1] != 5:
            raise ValueError(f"expected a (B, 5, T, H, W) RGB + flow clip, got shape {tuple(x.shape)}")
        rgb_logits, rgb_embedding = self.rgb(x[:, :3])
        flow_logits, flow_embedding = self.flow(x[:, 3:])
        stacked = torch.stack([F.log_softmax(rgb_logits, dim=1), F.log_softmax(flow_logits, dim=1)])
        fused = torch.logsumexp(stacked, dim=0) - math.log(2.0)
        return fused, torch.cat([rgb_embedding, flow_embedding], dim=1)


def optical_flow(frames: np.ndarray) -> np.ndarray:
    """Dense optical flow from each frame to the next (Farnebäck, OpenCV), scaled for the flow stream.

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB.

    Returns:
        ``(T, H, W, 2)`` float32 (x, y) displacement in pixels / ``FLOW_BOUND_PX``, clipped to ``[-1, 1]``;
        the last frame repeats the previous flow (zeros for a single frame).
    """
    grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    flows = [cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0) for a, b in itertools.pairwise(grey)]
    if not flows:
        return np.zeros((*frames.shape[:3], 2), dtype=np.float32)
    flows.append(flows[-1])
    return np.clip(np.stack(flows) / FLOW_BOUND_PX, -1.0, 1.0).astype(np.float32)


def clip_tensor(clips: np.ndarray, weights: ImageModelWeights, *, crop_size: int, with_flow: bool) -> Tensor:
    """Decoded clips → the CRNN's input.

    Args:
        clips: ``(B, T, H, W, 3)`` uint8 RGB, short side at least ``crop_size`` pixels.
        weights: the backbone's checkpoint (its ImageNet mean and std).
        crop_size: side of the square centre crop, in pixels.
        with_flow: append the 2 optical-flow channels (for :class:`TwoStreamCRNN`).

    Returns:
        ``(B, 3, T, crop, crop)`` float32 (``(B, 5, T, crop, crop)`` with flow).

    Raises:
        ValueError: the clips are not uint8 RGB or smaller than the crop.
    """
    crop = centre_crop(clips, crop_size)
    rgb = normalize(crop, mean=weights.mean, std=weights.std)
    if not with_flow:
        return rgb
    flow = torch.from_numpy(np.stack([optical_flow(c) for c in crop])).permute(0, 4, 1, 2, 3)
    return torch.cat([rgb, flow], dim=1)


def fine_tune_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, class_weights: Tensor | None = None
) -> float:
    """One optimisation step of cross-entropy on a batch.

    Args:
        model: a :class:`CRNN` or :class:`TwoStreamCRNN` in training mode.
        optimizer: over the model's trainable parameters.
        x: ``(B, C, T, H, W)`` input from :func:`clip_tensor`.
        y: ``(B,)`` int64 class indices.
        class_weights: ``(K,)`` float32 loss weight per class (inverse frequency for unbalanced sets).

    Returns:
        The batch's loss before the step.
    """
    optimizer.zero_grad(set_to_none=True)
    logits, _ = model(x)
    loss = F.cross_entropy(logits, y, weight=class_weights)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def fine_tune(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    num_classes: int,
    epochs: int,
    batch_size: int = 8,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Fine-tune a CRNN on a small labelled set with AdamW and class-balanced cross-entropy.

    Args:
        model: a :class:`CRNN` or :class:`TwoStreamCRNN` (frozen blocks stay frozen).
        x: ``(N, C, T, H, W)`` inputs from :func:`clip_tensor`.
        y: ``(N,)`` int64 class indices.
        num_classes: K, the model's logits.
        epochs: passes over the set.
        batch_size: clips per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        seed: seeds the shuffling (the caller seeds the initialisation).
        on_epoch: called after each epoch with the epochs done (1, 2, ...) and that epoch's mean loss.

    Returns:
        The mean training loss of each epoch, in order.

    Raises:
        ValueError: ``x`` and ``y`` disagree in length, or the set is empty.
    """
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"need as many labels as clips, got {len(x)} clips and {len(y)} labels")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    weights = balanced_class_weights(y, num_classes)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    history: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        losses = [
            fine_tune_step(model, optimizer, x[idx], y[idx], weights) * len(idx) for idx in order.split(batch_size)
        ]
        history.append(sum(losses) / len(y))
        if on_epoch is not None:
            on_epoch(len(history), history[-1])
    return history
