"""SlowFast R50: checkpoint loading in the PyTorchVideo format, download, and forward-pass contracts.

No pretrained file can be had offline, so the tests write a PyTorchVideo-style checkpoint
(``{"model_state": state_dict, "epoch": ...}``) from a randomly initialised model and load it back.
The state-dict layout itself was checked once against ``pytorchvideo.models.slowfast.create_slowfast``
(outside the project, which does not depend on pytorchvideo).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from ml.slowfast import SlowFast, SlowFastWeights, download_slowfast, slowfast_r50
from ml.weights import (
    CheckpointMismatchError,
    ChecksumError,
    VideoModelWeights,
    WeightsError,
    WeightsNotFoundError,
    sha256_file,
)

SPEC = SlowFastWeights.KINETICS400.value
SMALL_CLIP = (1, 3, 8, 64, 64)  # (B, C, T, H, W): cheap but exercises every layer


def _pinned(digest: str | None, url: str | None = SPEC.file.url) -> VideoModelWeights:
    return dataclasses.replace(SPEC, file=dataclasses.replace(SPEC.file, sha256=digest, url=url))


def _write(checkpoint: object, weights_dir: Path) -> Path:
    path = weights_dir / SPEC.file.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


@pytest.fixture(scope="module")
def model() -> SlowFast:
    """A randomly initialised SlowFast R50 in eval mode (fixed seed)."""
    torch.manual_seed(0)
    return slowfast_r50().eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(SMALL_CLIP, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def checkpoint(model: SlowFast, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model``'s weights saved as PyTorchVideo saves them, at the enum's relpath."""
    return _write({"model_state": model.state_dict(), "epoch": 196}, tmp_path_factory.mktemp("weights"))


def test_weights_enum_metadata() -> None:
    assert SlowFastWeights.DEFAULT is SlowFastWeights.KINETICS400
    assert len(SPEC.categories) == 400
    assert SPEC.embedding_dim == 2304
    assert SPEC.version == "slowfast_r50_8x8_kinetics400@unpinned"


def test_loader_round_trip(model: SlowFast, checkpoint: Path, clip: torch.Tensor) -> None:
    weights_dir = checkpoint.parents[1]
    loaded = slowfast_r50(weights=_pinned(sha256_file(checkpoint)), weights_dir=weights_dir)

    assert not loaded.training
    expected, actual = model.state_dict(), loaded.state_dict()
    assert list(actual) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(actual[key], tensor), key
    with torch.inference_mode():
        assert torch.equal(loaded(clip)[0], model(clip)[0])


def test_loader_accepts_bare_state_dict_and_enum(model: SlowFast, tmp_path: Path, clip: torch.Tensor) -> None:
    _write(model.state_dict(), tmp_path)
    loaded = slowfast_r50(weights=SlowFastWeights.DEFAULT, weights_dir=tmp_path)  # sha256 unpinned
    with torch.inference_mode():
        assert torch.equal(loaded(clip)[0], model(clip)[0])


@pytest.mark.parametrize("change", ["missing", "renamed", "extra", "reshaped"])
def test_loader_rejects_mismatched_checkpoint(model: SlowFast, tmp_path: Path, change: str) -> None:
    state = dict(model.state_dict())
    key = "blocks.2.multipathway_blocks.1.res_blocks.0.branch2.conv_a.weight"
    if change == "missing":
        del state[key]
    elif change == "renamed":
        state[key.replace("conv_a", "conv_a_renamed")] = state.pop(key)
    elif change == "extra":
        state["blocks.6.proj.extra"] = torch.zeros(1)
    else:
        state["blocks.6.proj.weight"] = torch.zeros(10, 2304)
    _write({"model_state": state, "epoch": 0}, tmp_path)

    with pytest.raises(CheckpointMismatchError, match=r"proj|conv_a"):
        slowfast_r50(weights=SPEC, weights_dir=tmp_path)


def test_loader_rejects_non_state_dict(tmp_path: Path) -> None:
    _write({"model_state": {"blocks.6.proj.weight": "not a tensor"}}, tmp_path)
    with pytest.raises(CheckpointMismatchError):
        slowfast_r50(weights=SPEC, weights_dir=tmp_path)


def test_loader_errors(checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = checkpoint.parents[1]
    with pytest.raises(ChecksumError):
        slowfast_r50(weights=_pinned("0" * 64), weights_dir=weights_dir)
    with pytest.raises(WeightsNotFoundError):
        slowfast_r50(weights=SPEC, weights_dir=tmp_path)
    with pytest.raises(ValueError, match="weights_dir"):
        slowfast_r50(weights=SPEC)
    with pytest.raises(ValueError, match="num_classes"):
        slowfast_r50(weights=SPEC, weights_dir=weights_dir, num_classes=10)


def test_download_from_url(checkpoint: Path, tmp_path: Path) -> None:
    digest = sha256_file(checkpoint)
    path = download_slowfast(tmp_path, weights=_pinned(digest, url=checkpoint.as_uri()))

    assert path == tmp_path / SPEC.file.relpath
    assert sha256_file(path) == digest
    assert slowfast_r50(weights=_pinned(digest), weights_dir=tmp_path).training is False


def test_download_with_wrong_sha256_leaves_nothing(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ChecksumError):
        download_slowfast(tmp_path, weights=_pinned("0" * 64, url=checkpoint.as_uri()))
    assert not (tmp_path / SPEC.file.relpath).exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_download_failure_is_a_weights_error(tmp_path: Path) -> None:
    missing = (tmp_path / "nowhere" / "SLOWFAST_8x8_R50.pyth").as_uri()
    with pytest.raises(WeightsError, match="downloading"):
        download_slowfast(tmp_path / "weights", weights=_pinned(None, url=missing))


@pytest.mark.parametrize(("frames", "size"), [(32, 224), (16, 160)])
def test_forward_shapes_and_input_untouched(model: SlowFast, frames: int, size: int) -> None:
    x = torch.randn(1, 3, frames, size, size, generator=torch.Generator().manual_seed(frames))
    original = x.clone()
    with torch.inference_mode():
        logits, embedding = model(x)
    assert torch.equal(x, original)
    assert logits.shape == (1, 400)
    assert embedding.shape == (1, SPEC.embedding_dim)
    assert torch.isfinite(logits).all()
    assert torch.isfinite(embedding).all()


def test_forward_returns_raw_logits_of_pooled_features(model: SlowFast, clip: torch.Tensor) -> None:
    with torch.inference_mode():
        logits, embedding = model(clip)
        slow, fast = model.forward_features(clip)
        projected = model.blocks[6].proj(embedding)
    assert slow.shape == (1, 2048, 2, 2, 2)  # T/alpha, ceil(64/32)
    assert fast.shape == (1, 256, 8, 2, 2)
    torch.testing.assert_close(embedding, torch.cat([slow.mean(dim=(2, 3, 4)), fast.mean(dim=(2, 3, 4))], dim=1))
    torch.testing.assert_close(logits, projected)  # no softmax: the caller applies it


def test_forward_in_train_mode_does_not_modify_input(clip: torch.Tensor) -> None:
    torch.manual_seed(2)
    net = SlowFast(num_classes=5).train()
    x = clip.clone().requires_grad_(True)
    logits, _ = net(x)
    logits.sum().backward()
    assert torch.equal(x.detach(), clip)
    assert x.grad is not None
    assert x.grad.shape == clip.shape


@pytest.mark.parametrize("shape", [(1, 3, 30, 64, 64), (1, 1, 8, 64, 64), (3, 8, 64, 64)])
def test_forward_rejects_bad_clip_shapes(model: SlowFast, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"alpha|expected"):
        model(torch.zeros(shape))
