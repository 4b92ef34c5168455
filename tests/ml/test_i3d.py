"""I3D-RGB: architecture, checkpoint mapping, weight-file safety, and labels on real footage."""

from __future__ import annotations

import copy
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import decord
import numpy as np
import pytest
import torch

from ml.i3d import (
    CheckpointMismatchError,
    I3DWeights,
    InceptionI3d,
    SamePadMaxPool3d,
    _same_padding,
    flax_to_state_dict,
    fold_batch_norm,
    i3d_rgb,
)
from ml.weights import ChecksumError, UnsafePickleError, WeightsNotFoundError, load_numpy_pickle, locate

WEIGHTS = I3DWeights.KINETICS400.value


def _load_clip(path: Path, *, frames: int, fps: float, resize_short: int, crop: int) -> torch.Tensor:
    """Decode ``frames`` frames at ``fps`` from the middle of a video, resized and centre-cropped.

    Returns:
        ``(1, 3, frames, crop, crop)`` float32 in ``[-1, 1]``.
    """
    probe = decord.VideoReader(str(path), num_threads=2)
    height, width, _ = probe[0].shape
    src_fps, total = probe.get_avg_fps(), len(probe)
    del probe
    scale = resize_short / min(height, width)
    new_h, new_w = round(height * scale), round(width * scale)
    reader = decord.VideoReader(str(path), width=new_w, height=new_h, num_threads=2)
    step = src_fps / fps
    start = max(0.0, (total - frames * step) / 2)
    indices = [min(total - 1, int(start + i * step)) for i in range(frames)]
    rgb = reader.get_batch(indices).asnumpy()  # (N, H, W, 3) uint8
    top, left = (new_h - crop) // 2, (new_w - crop) // 2
    rgb = rgb[:, top : top + crop, left : left + crop]
    clip = torch.from_numpy(rgb).float().div_(255.0)
    mean = torch.tensor(WEIGHTS.mean)
    std = torch.tensor(WEIGHTS.std)
    clip = (clip - mean) / std  # [0, 1] -> [-1, 1]
    return clip.permute(3, 0, 1, 2).unsqueeze(0).contiguous()


@pytest.fixture(scope="module")
def checkpoint(weights_dir: Path) -> dict[str, Any]:
    """The raw Flax checkpoint tree (loaded through the restricted unpickler)."""
    return load_numpy_pickle(locate(WEIGHTS.file, weights_dir))


@pytest.fixture(scope="module")
def pretrained(weights_dir: Path) -> InceptionI3d:
    """I3D-RGB with the Kinetics-400 weights, loaded once for this module."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    return i3d_rgb(weights=I3DWeights.DEFAULT, weights_dir=weights_dir)


# ---------------------------------------------------------------- weights enum and mapping


def test_default_is_an_alias_of_kinetics400() -> None:
    assert I3DWeights.DEFAULT is I3DWeights.KINETICS400
    assert len(WEIGHTS.categories) == 400
    assert WEIGHTS.version == "i3d_rgb_kinetics400@af5c50f0"


def test_mapping_uses_every_checkpoint_tensor_and_fills_every_model_tensor(checkpoint: dict[str, Any]) -> None:
    def leaves(tree: Any) -> int:
        return sum(leaves(v) for v in tree.values()) if isinstance(tree, dict) else 1

    state = flax_to_state_dict(checkpoint)
    model_keys = set(InceptionI3d().state_dict())
    assert set(state) == model_keys
    assert len(state) == leaves(checkpoint) == 230
    assert state["features.Conv3d_1a_7x7.conv.weight"].shape == (64, 3, 7, 7, 7)
    kernel = checkpoint["params"]["Mixed_4b"]["Branch_1/Conv3d_0b_3x3"]["Conv_0"]["kernel"]  # (T, H, W, Cin, Cout)
    weight = state["features.Mixed_4b.branch_1.1.conv.weight"]  # (Cout, Cin, T, H, W)
    assert torch.equal(weight[5, 7, 0, 1, 2], torch.tensor(kernel[0, 1, 2, 7, 5]))


def test_mapping_refuses_an_unused_tensor(checkpoint: dict[str, Any]) -> None:
    extra = {"params": {**checkpoint["params"], "Mixed_6a": {"Conv_0": {"kernel": np.zeros(1)}}}}
    extra["batch_stats"] = checkpoint["batch_stats"]
    with pytest.raises(CheckpointMismatchError, match="Mixed_6a"):
        flax_to_state_dict(extra)


def test_mapping_refuses_a_missing_tensor(checkpoint: dict[str, Any]) -> None:
    stats = {**checkpoint["batch_stats"], "Mixed_5c": {**checkpoint["batch_stats"]["Mixed_5c"]}}
    del stats["Mixed_5c"]["Branch_3/Conv3d_0b_1x1"]
    with pytest.raises(CheckpointMismatchError, match="Mixed_5c/Branch_3/Conv3d_0b_1x1"):
        flax_to_state_dict({"params": checkpoint["params"], "batch_stats": stats})


# ---------------------------------------------------------------- architecture


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 7, 2, (2, 3)),
        (112, 3, 1, (1, 1)),
        (112, 3, 2, (0, 1)),
        (7, 3, 2, (1, 1)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
    ],
)
def test_same_padding_matches_tensorflow(size: int, kernel: int, stride: int, expected: tuple[int, int]) -> None:
    """TensorFlow "SAME": output ceil(size / stride); an odd total pad puts the extra sample after."""
    assert _same_padding(size, kernel, stride) == expected


@pytest.mark.parametrize(
    ("shape", "feature_shape"),
    [((1, 3, 8, 112, 112), (1, 1024, 1, 4, 4)), ((2, 3, 16, 224, 160), (2, 1024, 2, 7, 5))],
)
def test_output_shapes_for_any_input_size(shape: tuple[int, ...], feature_shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = i3d_rgb(num_classes=10).eval()
    x = torch.rand(shape) * 2 - 1
    with torch.inference_mode():
        features = model.forward_features(x)
        logits, embedding = model(x)
    assert features.shape == feature_shape
    assert logits.shape == (shape[0], 10)
    assert embedding.shape == (shape[0], 1024)
    assert torch.allclose(embedding, features.mean(dim=(2, 3, 4)))
    assert torch.isfinite(logits).all()


def test_num_classes_must_match_the_weights(weights_dir: Path) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        i3d_rgb(weights=I3DWeights.DEFAULT, weights_dir=weights_dir, num_classes=10)


# ---------------------------------------------------------------- weight files


def test_missing_weights_raise_not_found(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError):
        i3d_rgb(weights=I3DWeights.DEFAULT, weights_dir=tmp_path)


def test_corrupted_weights_raise_checksum_error(tmp_path: Path, weights_dir: Path) -> None:
    copy = tmp_path / WEIGHTS.file.relpath
    copy.parent.mkdir(parents=True)
    shutil.copyfile(weights_dir / WEIGHTS.file.relpath, copy)
    with open(copy, "r+b") as fh:
        fh.seek(1_000_000)
        byte = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError):
        i3d_rgb(weights=I3DWeights.DEFAULT, weights_dir=tmp_path)


class _Exploit:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def test_numpy_pickle_loader_refuses_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = tmp_path / "evil.ckpt"
    payload.write_bytes(pickle.dumps({"params": _Exploit(f"echo hi > {marker}")}))
    with pytest.raises(UnsafePickleError):
        load_numpy_pickle(payload)
    assert not marker.exists()


# ---------------------------------------------------------------- real checkpoint, real footage


@pytest.mark.slow
@pytest.mark.parametrize(
    ("video", "label", "min_prob"),
    [("tennis_atp_hardcourt_5s.mp4", "playing tennis", 0.9), ("baseball_mlb_pitch_7s.mp4", "hitting baseball", 0.5)],
)
def test_pretrained_labels_real_footage(
    pretrained: InceptionI3d, video_dir: Path, video: str, label: str, min_prob: float
) -> None:
    clip = _load_clip(
        video_dir / video, frames=32, fps=WEIGHTS.sample_fps, resize_short=WEIGHTS.resize_short, crop=WEIGHTS.crop_size
    )
    assert clip.shape == (1, 3, 32, 224, 224)
    assert not pretrained.training
    with torch.inference_mode():
        logits, embedding = pretrained(clip)
    probs = logits.softmax(dim=1)[0]
    top = int(probs.argmax())
    assert WEIGHTS.categories[top] == label
    assert float(probs[top]) > min_prob
    assert embedding.shape == (1, 1024)


def test_folding_batch_norm_and_symmetric_pooling_keep_the_outputs() -> None:
    torch.manual_seed(0)
    reference = i3d_rgb(num_classes=10).eval()
    for module in reference.modules():  # non-trivial running statistics, as a trained model has
        if hasattr(module, "running_var"):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.2, 0.2)
    folded = fold_batch_norm(copy.deepcopy(reference))
    assert not any(hasattr(m, "running_var") for m in folded.modules())
    x = torch.rand(2, 3, 8, 112, 112) * 2 - 1
    with torch.inference_mode():
        (logits, embedding), (logits_f, embedding_f) = reference(x), folded(x)
    torch.testing.assert_close(logits_f, logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(embedding_f, embedding, rtol=1e-4, atol=1e-4)


def test_same_max_pool_matches_explicit_minus_infinity_padding() -> None:
    pool = SamePadMaxPool3d((3, 3, 3), (1, 1, 1))
    x = torch.randn(1, 4, 5, 9, 9)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1, 1, 1), value=float("-inf"))
    torch.testing.assert_close(pool(x), torch.nn.functional.max_pool3d(padded, (3, 3, 3), (1, 1, 1)))
