"""SlowFast R50 8x8: a two-pathway 3D ResNet-50 video classifier, with PyTorchVideo's Kinetics-400 weights.

Reference:
    C. Feichtenhofer, H. Fan, J. Malik and K. He, "SlowFast Networks for Video Recognition",
    ICCV 2019 (arXiv:1812.03982). Table 1 of the paper gives the instantiation built here: a Slow
    pathway (3D ResNet-50, temporal kernels only in ``res4``/``res5``) fed every ``alpha``-th frame,
    and a Fast pathway with ``1/beta`` of the channels fed every frame, joined after the stem and
    after ``res2``..``res4`` by time-strided convolutions (the paper's "time-strided convolution"
    lateral connection, kernel 7x1x1, 2x the Fast channels) concatenated onto the Slow pathway.

The weights are the official PyTorchVideo model-zoo checkpoint ``SLOWFAST_8x8_R50.pyth``
(Kinetics-400, 76.9 % top-1): a ``torch.save``\\ d dict whose ``"model_state"`` is the state dict
of ``pytorchvideo.models.slowfast.create_slowfast()``. This module is written independently of
PyTorchVideo (which needs torchvision) but lays its sub-modules out under the same names
(``blocks.0.multipathway_blocks.0.conv.weight`` ... ``blocks.6.proj.bias``, 662 entries), so the
file loads with ``strict=True`` and no renaming.

Input convention: ``(B, 3, T, H, W)`` float32 RGB scaled to ``[0, 1]`` and normalised with mean
0.45 and std 0.225 per channel; the reference evaluation uses T = 32 frames (the Fast pathway)
sampled at 15 fps, i.e. about 2.1 s of video, short side resized to 256 px, centre crop 256 x 256 px.
The Slow pathway is built inside :meth:`SlowFast.forward` as ``x[:, :, ::alpha]`` (8 frames for
T = 32); the caller's tensor is never modified. The head pools each pathway adaptively, so any T
that is a multiple of ``alpha`` and any H, W (>= 32 px) work.

Example::

    model = slowfast_r50(weights=SlowFastWeights.DEFAULT, weights_dir=Path("/srv/weights"))
    with torch.inference_mode():
        logits, embedding = model(clip)  # (B, 400), (B, 2304)
    probs = logits.softmax(dim=1)
"""

from __future__ import annotations

import enum
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ml.weights import (
    CheckpointMismatchError,
    VideoModelWeights,
    WeightFile,
    fetch,
    kinetics400_categories,
    locate,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CheckpointMismatchError",
    "SlowFast",
    "SlowFastWeights",
    "download_slowfast",
    "slowfast_r50",
]

#: Bottleneck blocks per stage (res2..res5) of ResNet-50.
R50_STAGE_DEPTHS = (3, 4, 6, 3)
#: Temporal kernel of each stage's first bottleneck convolution (``conv_a``), per pathway (paper, Table 1).
SLOW_CONV_A_TEMPORAL = (1, 1, 3, 3)
FAST_CONV_A_TEMPORAL = (3, 3, 3, 3)
#: Spatial stride of each stage (applied in ``conv_b`` of its first block and in the shortcut).
STAGE_SPATIAL_STRIDES = (1, 2, 2, 2)


class SlowFastWeights(enum.Enum):
    """Pretrained SlowFast R50 checkpoints (torchvision-style weights enum)."""

    KINETICS400 = VideoModelWeights(
        name="slowfast_r50_8x8_kinetics400",
        file=WeightFile(
            relpath="slowfast_r50/SLOWFAST_8x8_R50.pyth",
            sha256=None,
            url="https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOWFAST_8x8_R50.pyth",
        ),
        categories=kinetics400_categories(),
        mean=(0.45, 0.45, 0.45),
        std=(0.225, 0.225, 0.225),
        resize_short=256,
        crop_size=256,
        clip_frames=32,
        sample_fps=15.0,
        embedding_dim=2304,
    )
    DEFAULT = KINETICS400


# --------------------------------------------------------------------------------------------
# Building blocks (attribute names follow PyTorchVideo's, so state-dict keys match)
# --------------------------------------------------------------------------------------------


class Stem(nn.Module):
    """One pathway's stem: conv (stride 1x2x2), BN, ReLU, max-pool 1x3x3 (stride 1x2x2).

    Maps ``(B, 3, T, H, W)`` to ``(B, out_channels, T, ceil(H/4), ceil(W/4))``.

    Args:
        out_channels: 64 for the Slow pathway, 8 for the Fast one.
        temporal_kernel: 1 for Slow, 5 for Fast (the spatial kernel is 7x7).
    """

    def __init__(self, out_channels: int, temporal_kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            3,
            out_channels,
            kernel_size=(temporal_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temporal_kernel // 2, 3, 3),
            bias=False,
        )
        self.norm = nn.BatchNorm3d(out_channels)
        self.activation = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.activation(self.norm(self.conv(x))))


class BottleneckBranch(nn.Module):
    """The residual branch: 1x1x1 (or 3x1x1) reduce, 1x3x3 spatial, 1x1x1 expand, each with BN.

    Args:
        dim_in: input channels.
        dim_inner: bottleneck width.
        dim_out: output channels (4 x ``dim_inner``).
        temporal_kernel: temporal size of ``conv_a`` (1 or 3).
        spatial_stride: stride of ``conv_b`` in H and W.
    """

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int) -> None:
        super().__init__()
        self.conv_a = nn.Conv3d(
            dim_in, dim_inner, kernel_size=(temporal_kernel, 1, 1), padding=(temporal_kernel // 2, 0, 0), bias=False
        )
        self.norm_a = nn.BatchNorm3d(dim_inner)
        self.act_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv3d(
            dim_inner,
            dim_inner,
            kernel_size=(1, 3, 3),
            stride=(1, spatial_stride, spatial_stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.norm_b = nn.BatchNorm3d(dim_inner)
        self.act_b = nn.ReLU(inplace=True)
        self.conv_c = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.norm_c = nn.BatchNorm3d(dim_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class Bottleneck(nn.Module):
    """A residual bottleneck block: ``relu(shortcut(x) + branch2(x))``.

    The shortcut is a strided 1x1x1 conv + BN (``branch1_conv``/``branch1_norm``) when the channel
    count or resolution changes (first block of a stage), the identity otherwise.
    """

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int) -> None:
        super().__init__()
        self.branch1_conv: nn.Conv3d | None = None
        self.branch1_norm: nn.BatchNorm3d | None = None
        if dim_in != dim_out or spatial_stride != 1:
            self.branch1_conv = nn.Conv3d(
                dim_in, dim_out, kernel_size=1, stride=(1, spatial_stride, spatial_stride), bias=False
            )
            self.branch1_norm = nn.BatchNorm3d(dim_out)
        self.branch2 = BottleneckBranch(dim_in, dim_inner, dim_out, temporal_kernel, spatial_stride)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        if self.branch1_conv is not None and self.branch1_norm is not None:
            shortcut = self.branch1_norm(self.branch1_conv(x))
        return self.activation(shortcut + self.branch2(x))


class ResStage(nn.Module):
    """``depth`` bottlenecks; the first changes channels and applies the spatial stride."""

    def __init__(
        self, depth: int, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int
    ) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(
            Bottleneck(
                dim_in if i == 0 else dim_out,
                dim_inner,
                dim_out,
                temporal_kernel,
                spatial_stride if i == 0 else 1,
            )
            for i in range(depth)
        )

    def forward(self, x: Tensor) -> Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class FuseFastToSlow(nn.Module):
    """Lateral connection: time-strided conv of the Fast features, concatenated onto the Slow ones.

    The conv (kernel 7x1x1, stride ``alpha`` x1x1, ``2 x fast_channels`` outputs) + BN + ReLU maps
    Fast ``(B, C_f, T, H, W)`` to ``(B, 2 C_f, T/alpha, H, W)``, the Slow pathway's time resolution.

    Args:
        fast_channels: channels of the Fast pathway at this point.
        alpha: frame-rate ratio between the pathways.
        channel_ratio: output channels per Fast channel (2 in the paper).
        kernel: temporal kernel size (7 for R50 8x8).
    """

    def __init__(self, fast_channels: int, alpha: int, channel_ratio: int = 2, kernel: int = 7) -> None:
        super().__init__()
        self.conv_fast_to_slow = nn.Conv3d(
            fast_channels,
            fast_channels * channel_ratio,
            kernel_size=(kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )
        self.norm = nn.BatchNorm3d(fast_channels * channel_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, slow: Tensor, fast: Tensor) -> tuple[Tensor, Tensor]:
        lateral = self.activation(self.norm(self.conv_fast_to_slow(fast)))
        return torch.cat([slow, lateral], dim=1), fast


class PathwayStage(nn.Module):
    """One stage of both pathways (``multipathway_blocks[0]`` Slow, ``[1]`` Fast), then the optional fusion."""

    def __init__(self, slow: nn.Module, fast: nn.Module, fusion: FuseFastToSlow | None) -> None:
        super().__init__()
        self.multipathway_blocks = nn.ModuleList([slow, fast])
        self.multipathway_fusion = fusion

    def forward(self, slow: Tensor, fast: Tensor) -> tuple[Tensor, Tensor]:
        slow = self.multipathway_blocks[0](slow)
        fast = self.multipathway_blocks[1](fast)
        if self.multipathway_fusion is not None:
            slow, fast = self.multipathway_fusion(slow, fast)
        return slow, fast


class PoolConcat(nn.Module):
    """Global average pool of each pathway over (T, H, W), concatenated: ``(B, C_s + C_f)``."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.ModuleList([nn.AdaptiveAvgPool3d(1), nn.AdaptiveAvgPool3d(1)])

    def forward(self, slow: Tensor, fast: Tensor) -> Tensor:
        return torch.cat([self.pool[0](slow).flatten(1), self.pool[1](fast).flatten(1)], dim=1)


class Head(nn.Module):
    """Dropout and the linear classifier ``proj`` on the pooled features."""

    def __init__(self, in_features: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(in_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.dropout(x))


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


class SlowFast(nn.Module):
    """SlowFast R50 (Feichtenhofer et al., ICCV 2019), the 8x8 instantiation of the paper's Table 1.

    ``self.blocks`` mirrors PyTorchVideo's ``create_slowfast()`` layout so its checkpoints load
    unchanged: ``blocks[0]`` the two stems + fusion, ``blocks[1..4]`` res2..res5 of both pathways
    (fusion after res2..res4), ``blocks[5]`` the per-pathway global average pool, ``blocks[6]``
    dropout + linear ``proj``. Feature maps for a ``(B, 3, 32, 256, 256)`` input:

    ====================  ============================  ===========================
    after                 Slow                          Fast
    ====================  ============================  ===========================
    stem + fusion         ``(B, 64+16, 8, 64, 64)``     ``(B, 8, 32, 64, 64)``
    res2 + fusion         ``(B, 256+64, 8, 64, 64)``    ``(B, 32, 32, 64, 64)``
    res3 + fusion         ``(B, 512+128, 8, 32, 32)``   ``(B, 64, 32, 32, 32)``
    res4 + fusion         ``(B, 1024+256, 8, 16, 16)``  ``(B, 128, 32, 16, 16)``
    res5                  ``(B, 2048, 8, 8, 8)``        ``(B, 256, 32, 8, 8)``
    ====================  ============================  ===========================

    Pooling each pathway and concatenating gives the ``(B, 2304)`` embedding. PyTorchVideo pools
    with a fixed 8x7x7 / 32x7x7 window sized for 224-pixel training crops; here the pool is adaptive
    (global), which is identical at 32 x 224 x 224 and keeps the full field at any other size.

    Args:
        num_classes: number of output logits.
        dropout: dropout probability before ``proj`` (0.5 in training; inactive in ``eval()``).
        alpha: frame-rate ratio Fast : Slow (4 for 8x8: 32 Fast frames, 8 Slow frames).
        beta_inv: channel ratio Slow : Fast (8).

    Raises:
        ValueError: ``alpha`` or ``beta_inv`` is not positive.
    """

    def __init__(self, num_classes: int = 400, dropout: float = 0.5, alpha: int = 4, beta_inv: int = 8) -> None:
        super().__init__()
        if alpha < 1 or beta_inv < 1:
            raise ValueError(f"alpha and beta_inv must be positive, got {alpha}, {beta_inv}")
        self.num_classes = num_classes
        self.alpha = alpha
        lateral_ratio = 2  # lateral conv outputs 2x the Fast channels (paper, Sec. 3.4)

        slow_stem, fast_stem = 64, 64 // beta_inv
        stages: list[nn.Module] = [
            PathwayStage(Stem(slow_stem, 1), Stem(fast_stem, 5), FuseFastToSlow(fast_stem, alpha, lateral_ratio))
        ]
        slow_in = slow_stem + lateral_ratio * fast_stem
        fast_in = fast_stem
        slow_out = 4 * slow_stem  # 256, 512, 1024, 2048
        for idx, depth in enumerate(R50_STAGE_DEPTHS):
            fast_out = slow_out // beta_inv
            stride = STAGE_SPATIAL_STRIDES[idx]
            slow = ResStage(depth, slow_in, slow_out // 4, slow_out, SLOW_CONV_A_TEMPORAL[idx], stride)
            fast = ResStage(depth, fast_in, fast_out // 4, fast_out, FAST_CONV_A_TEMPORAL[idx], stride)
            is_last = idx == len(R50_STAGE_DEPTHS) - 1
            fusion = None if is_last else FuseFastToSlow(fast_out, alpha, lateral_ratio)
            stages.append(PathwayStage(slow, fast, fusion))
            slow_in = slow_out + (0 if is_last else lateral_ratio * fast_out)
            fast_in = fast_out
            slow_out *= 2
        self.embedding_dim = slow_in + fast_in  # 2048 + 256 = 2304
        stages.append(PoolConcat())
        stages.append(Head(self.embedding_dim, num_classes, dropout))
        self.blocks = nn.ModuleList(stages)
        self._init_weights()

    def _init_weights(self) -> None:
        """He (fan-out) init for convs, BN to identity, small normal for the classifier (PyTorchVideo's scheme)."""
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The res5 feature maps of both pathways.

        Args:
            x: ``(B, 3, T, H, W)`` float32, normalised; T a multiple of ``alpha``.

        Returns:
            ``(slow, fast)``: ``(B, 2048, T/alpha, H', W')`` and ``(B, 256, T, H', W')``, with
            ``H' = ceil(H/32)`` (8 for H = 256).

        Raises:
            ValueError: ``x`` is not ``(B, 3, T, H, W)`` or T is not a positive multiple of ``alpha``.
        """
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, T, H, W) clip, got shape {tuple(x.shape)}")
        frames = x.shape[2]
        if frames == 0 or frames % self.alpha:
            raise ValueError(f"T={frames} frames is not a positive multiple of alpha={self.alpha}")
        # Slicing makes a view; every layer below writes to fresh tensors (the in-place ReLUs
        # only act on conv/BN outputs), so the caller's clip is never modified.
        slow, fast = x[:, :, :: self.alpha], x
        for stage in self.blocks[:5]:
            slow, fast = stage(slow, fast)
        return slow, fast

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Classify clips.

        Args:
            x: ``(B, 3, T, H, W)`` float32 RGB in ``[0, 1]`` normalised with mean 0.45, std 0.225;
                T = Fast-pathway frames (32 at 15 fps for the 8x8 model; any positive multiple of
                ``alpha`` = 4), H, W in pixels (256 in the reference evaluation; any size >= 32).
                The Slow pathway is ``x[:, :, ::alpha]``, built internally; ``x`` is not modified.

        Returns:
            ``(logits, embedding)``: logits ``(B, num_classes)``, the raw linear output (apply
            ``softmax(dim=1)`` for probabilities); embedding ``(B, 2304)``, the globally averaged
            Slow (2048) and Fast (256) res5 features concatenated, taken before dropout and ``proj``.

        Raises:
            ValueError: ``x`` is not ``(B, 3, T, H, W)`` or T is not a positive multiple of ``alpha``.
        """
        slow, fast = self.forward_features(x)
        embedding = self.blocks[5](slow, fast)
        return self.blocks[6](embedding), embedding


# --------------------------------------------------------------------------------------------
# Builder and download
# --------------------------------------------------------------------------------------------


def _spec(weights: SlowFastWeights | VideoModelWeights) -> VideoModelWeights:
    return weights.value if isinstance(weights, SlowFastWeights) else weights


def _model_state(checkpoint: Any, path: Path) -> Mapping[str, Tensor]:
    """The state dict inside a PyTorchVideo checkpoint (``{"model_state": ..., "epoch": ...}``) or a bare one."""
    if isinstance(checkpoint, Mapping) and "model_state" in checkpoint:
        checkpoint = checkpoint["model_state"]
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, Tensor) for v in checkpoint.values()):
        raise CheckpointMismatchError(f"{path} holds neither a 'model_state' entry nor a state dict of tensors")
    return checkpoint


def slowfast_r50(
    *,
    weights: SlowFastWeights | VideoModelWeights | None = None,
    weights_dir: Path | None = None,
    num_classes: int = 400,
) -> SlowFast:
    """Build SlowFast R50 8x8, optionally with pretrained weights (torchvision-style builder).

    The checkpoint is read with ``torch.load(map_location="cpu", weights_only=True)`` (no code is
    unpickled) and loaded with ``strict=True``.

    Args:
        weights: pretrained checkpoint (e.g. ``SlowFastWeights.DEFAULT``), or ``None`` for a randomly
            initialised model (returned in training mode).
        weights_dir: root folder of the weight files (the product's ``HL_WEIGHTS_DIR``); the file is
            ``weights_dir / weights.file.relpath``. Required when ``weights`` is given.
        num_classes: number of logits; must equal ``len(weights.categories)`` with weights.

    Returns:
        The model on CPU; in ``eval()`` mode when weights were loaded.

    Raises:
        ValueError: ``weights`` without ``weights_dir``, or ``num_classes`` disagreeing with it.
        WeightsNotFoundError: the checkpoint is not in ``weights_dir`` (see :func:`download_slowfast`).
        ChecksumError: the checkpoint's sha256 is pinned and wrong.
        CheckpointMismatchError: the file is not a loadable state dict, or its keys or shapes do
            not match the model's exactly (a missing, extra or renamed key).
    """
    spec = None if weights is None else _spec(weights)
    if spec is not None and num_classes != len(spec.categories):
        raise ValueError(f"num_classes={num_classes} but {spec.name} has {len(spec.categories)} categories")
    model = SlowFast(num_classes=num_classes)
    if spec is None:
        return model
    if weights_dir is None:
        raise ValueError("weights_dir is required to load pretrained weights")
    path = locate(spec.file, Path(weights_dir))
    logger.info("loading %s from %s", spec.version, path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise CheckpointMismatchError(f"{path} cannot be read as a weights-only torch checkpoint: {exc}") from exc
    state = _model_state(checkpoint, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing/unexpected keys or shape mismatch
        raise CheckpointMismatchError(f"{path}: {exc}") from exc
    return model.eval()


def download_slowfast(
    weights_dir: Path, weights: SlowFastWeights | VideoModelWeights = SlowFastWeights.DEFAULT
) -> Path:
    """Obtain a SlowFast checkpoint from its URL into ``weights_dir`` (needs internet access).

    A file already present (with the right digest, where one is pinned) is kept. PyTorchVideo
    publishes no sha256 for its model zoo, so the default entry pins none and the downloaded digest
    is logged (pin it with ``dataclasses.replace`` to make the download verifiable).

    Args:
        weights_dir: destination root; the file lands at ``weights_dir / weights.file.relpath``.
        weights: which checkpoint (default ``SlowFastWeights.DEFAULT``).

    Returns:
        The path of the verified file.

    Raises:
        ChecksumError: the download's sha256 differs from the pinned one (nothing is written).
        WeightsError: the file has no URL, or the download failed (network or file-system error).
    """
    return fetch(_spec(weights).file, Path(weights_dir))
