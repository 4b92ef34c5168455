"""Learning building blocks on real footage and weights, no database: MobileNetV2, CRNN, heads, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from indexer.stages.spans import span_frames
from ml.crnn import CRNN, TwoStreamCRNN, clip_tensor, fine_tune_step, flow_backbone, optical_flow
from ml.heads import cross_val_proba, train_head
from ml.metrics import average_precision, evaluate_predictions
from ml.mobilenet_v2 import MobileNetV2Weights, mobilenet_v2

SPEC = MobileNetV2Weights.DEFAULT.value
# (file, width, height) of shared clips: two sports for the fine-tune batch.
TENNIS = ("tennis_atp_hardcourt_5s.mp4", 1920, 1080)
BASEBALL = ("baseball_mlb_pitch_7s.mp4", 960, 540)


def _frames(video_dir: Path, clip: tuple[str, int, int], start_s: float, count: int, short_side: int) -> np.ndarray:
    name, width, height = clip
    return span_frames(
        video_dir / name,
        width=width,
        height=height,
        start_s=start_s,
        end_s=start_s + 2.0,
        count=count,
        short_side=short_side,
    )


def test_imagenet_mobilenet_v2_recognises_sports_frames(video_dir: Path, weights_dir: Path) -> None:
    model = mobilenet_v2(weights=MobileNetV2Weights.DEFAULT, weights_dir=weights_dir)
    names = json.loads((weights_dir / "mobilenet_v2_imagenet" / "imagenet_class_index.json").read_text())
    tops = {}
    for clip in (TENNIS, BASEBALL):
        frames = _frames(video_dir, clip, 1.0, 4, 256)
        x = clip_tensor(frames[None], SPEC, crop_size=224, with_flow=False)[0].transpose(0, 1)  # (T, 3, H, W)
        with torch.inference_mode():
            tops[clip[0]] = names[str(int(model(x).softmax(dim=1).mean(dim=0).argmax()))][1]
    assert tops == {TENNIS[0]: "racket", BASEBALL[0]: "ballplayer"}


@pytest.fixture(scope="module")
def batch(video_dir: Path) -> tuple[np.ndarray, torch.Tensor]:
    """4 clips of 8 frames (2 tennis, 2 baseball) decoded at 128 px, and their labels."""
    clips = [_frames(video_dir, c, s, 8, 128) for c in (TENNIS, BASEBALL) for s in (0.5, 3.0)]
    return np.stack(clips), torch.tensor([0, 0, 1, 1])


def test_crnn_fine_tune_steps_lower_the_training_loss(
    batch: tuple[np.ndarray, torch.Tensor], weights_dir: Path
) -> None:
    torch.manual_seed(0)
    model = CRNN(mobilenet_v2(weights=SPEC, weights_dir=weights_dir), 2, trainable_blocks=2)
    frozen = [p.requires_grad for p in model.features[:-2].parameters()]
    assert frozen and not any(frozen)
    x = clip_tensor(batch[0], SPEC, crop_size=112, with_flow=False)
    assert x.shape == (4, 3, 8, 112, 112)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    losses = [fine_tune_step(model, optimizer, x, batch[1]) for _ in range(4)]
    assert losses[-1] < losses[0]
    logits, embedding = model.eval()(x)
    assert logits.shape == (4, 2) and embedding.shape == (4, 256)


def test_two_stream_crnn_fuses_rgb_and_flow(batch: tuple[np.ndarray, torch.Tensor], weights_dir: Path) -> None:
    flow = optical_flow(batch[0][0])
    assert flow.shape == (8, 128, 228, 2) and np.abs(flow).max() <= 1.0 and np.abs(flow).mean() > 0
    rgb_net = mobilenet_v2(weights=SPEC, weights_dir=weights_dir)
    flow_net = flow_backbone(rgb_net)
    stem = rgb_net.features[0][0].weight
    assert torch.allclose(flow_net.features[0][0].weight[:, 1], stem.mean(dim=1))
    torch.manual_seed(0)
    model = TwoStreamCRNN(CRNN(rgb_net, 2), CRNN(flow_net, 2))
    x = clip_tensor(batch[0][:2], SPEC, crop_size=112, with_flow=True)
    assert x.shape == (2, 5, 8, 112, 112)
    with torch.inference_mode():
        logits, embedding = model.eval()(x)
    assert torch.allclose(logits.exp().sum(dim=1), torch.ones(2), atol=1e-5)
    assert embedding.shape == (2, 512)


def test_linear_probe_separates_classes_and_cross_validation_holds_groups_out() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64))
    y = np.repeat(np.arange(3), 6)
    x = centres[y] + 0.3 * rng.normal(size=(18, 64))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    _, losses = train_head(x, y, 3, epochs=200)
    assert losses[-1] < losses[0] / 5
    groups = np.arange(18) // 2  # pairs of rows from one "clip"
    held_out = cross_val_proba(x, y, groups, 3, folds=3, epochs=200)
    assert (held_out.argmax(axis=1) == y).mean() > 0.9
    with pytest.raises(ValueError, match="labels must lie"):
        train_head(x, y + 1, 3)


def test_metrics_match_hand_computed_values() -> None:
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    ev = evaluate_predictions(y, probs, ["a", "b"])
    assert ev.top1 == 0.5 and ev.confusion.tolist() == [[1, 1], [1, 1]]
    assert ev.classes[0].precision == 0.5 and ev.classes[0].recall == 0.5 and ev.classes[0].f1 == 0.5
    # class a ranked by score: rows 0 (+), 3 (-), 1 (+), 2 (-): AP = 0.5 * 1 + 0.5 * 2/3
    assert average_precision(probs[:, 0], y == 0) == pytest.approx(0.5 + 1 / 3)
    assert average_precision(probs[:, 0], np.zeros(4, dtype=bool)) is None
