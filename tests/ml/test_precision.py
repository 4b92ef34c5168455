"""bfloat16 autocast against float32 on every shared clip: same top-1 class, probabilities and embeddings close.

Runs where the CPU has native bfloat16 (AMX-BF16 or AVX512-BF16), i.e. where ``HL_PRECISION=auto``
picks bf16. Elsewhere bfloat16 is emulated (several times slower than float32, and never chosen
automatically); ``HL_TEST_BF16=1`` runs the comparison there too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from indexer.stages.frames import FrameSampler, window_starts
from indexer.stages.probe import probe_video
from ml.device import Placement, cpu_has_bf16
from ml.i3d import I3DWeights, i3d_rgb
from ml.preprocessing import resize_short_side
from ml.recognizer import ActionRecognizer
from tests.conftest import SHARED_DIR

pytestmark = pytest.mark.skipif(
    not (cpu_has_bf16() or os.environ.get("HL_TEST_BF16") == "1"),
    reason="this CPU has neither AMX-BF16 nor AVX512-BF16, so HL_PRECISION=auto never picks bf16 here "
    "(emulated bf16 is slower than fp32); set HL_TEST_BF16=1 to compare anyway",
)

WEIGHTS = I3DWeights.DEFAULT.value
CROP = 224


@pytest.fixture(scope="module")
def models(weights_dir: Path) -> dict[str, ActionRecognizer]:
    model = i3d_rgb(weights=WEIGHTS, weights_dir=weights_dir)
    return {
        precision: ActionRecognizer(model, WEIGHTS, crop_size=CROP, placement=Placement(torch.device("cpu"), precision))
        for precision in ("fp32", "bf16")
    }


def _windows(path: Path, count: int = 4) -> np.ndarray:
    """Up to ``count`` windows of 16 frames at 5 fps, as the pipeline samples them: ``(B, 16, H, W, 3)`` uint8."""
    probe = probe_video(path)
    sampler = FrameSampler(
        path, width=probe.width, height=probe.height, sample_fps=5.0, short_side=resize_short_side(CROP, WEIGHTS)
    )
    frames = np.concatenate([batch.frames for batch in sampler])
    starts = window_starts(len(frames), 16, 0.25)[:count]
    clips = [frames[s : s + 16] for s in starts]
    return np.stack([np.concatenate([c, np.repeat(c[-1:], 16 - len(c), axis=0)]) for c in clips])


@pytest.mark.parametrize("name", sorted(p.name for p in (SHARED_DIR / "data" / "video").glob("*.mp4")))
def test_bf16_keeps_top1_probabilities_and_embeddings(
    name: str, video_dir: Path, models: dict[str, ActionRecognizer]
) -> None:
    clips = _windows(video_dir / name)
    probs32, emb32 = models["fp32"](clips)
    probs16, emb16 = models["bf16"](clips)
    assert (probs16.argmax(axis=1) == probs32.argmax(axis=1)).all(), "a window's top-1 class changed under bf16"
    assert probs16.mean(axis=0).argmax() == probs32.mean(axis=0).argmax(), "the clip's top-1 class changed"
    assert np.abs(probs16 - probs32).max() <= 0.05
    cosine = (emb16 * emb32).sum(axis=1)  # both L2-normalised
    assert cosine.min() >= 0.99
