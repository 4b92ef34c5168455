"""Speed of learning new actions on the CPU; prints one JSON line.

Figures: CRNN (ImageNet MobileNetV2 + GRU, 8 frames at 112 px) inference seconds per clip and fine-tune
seconds per step of 8 clips (last 2 blocks trainable), optical flow seconds per clip (two-stream input),
few-shot head training seconds (300 full-batch steps on 200 x 1024-d embeddings), and head application
throughput in clip embeddings per second (the cost of re-scoring an archive). Real weights from
HL_WEIGHTS_DIR (default ../shared/weights); frames from the shared tennis footage.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WEIGHTS = Path(os.environ.get("HL_WEIGHTS_DIR", ROOT.parent / "shared" / "weights"))
VIDEO = ROOT.parent / "shared" / "data" / "video" / "tennis_atp_hardcourt_5s.mp4"


def _median_s(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    from indexer.stages.spans import span_frames
    from ml.crnn import CRNN, clip_tensor, fine_tune_step, optical_flow
    from ml.heads import predict_proba, train_head
    from ml.mobilenet_v2 import MobileNetV2Weights, mobilenet_v2

    spec = MobileNetV2Weights.DEFAULT.value
    frames = span_frames(VIDEO, width=1920, height=1080, start_s=0.5, end_s=4.5, count=8, short_side=128)
    clips = np.stack([frames] * 8)
    x = clip_tensor(clips, spec, crop_size=112, with_flow=False)
    torch.manual_seed(0)
    model = CRNN(mobilenet_v2(weights=spec, weights_dir=WEIGHTS), 3)
    with torch.inference_mode():
        infer_s = _median_s(lambda: model.eval()(x[:1]))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model.train()
    step_s = _median_s(lambda: fine_tune_step(model, optimizer, x, y))
    flow_s = _median_s(lambda: optical_flow(frames[:, 8:120, 58:170]))
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(200, 1024)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = rng.integers(0, 3, size=200)
    started = time.perf_counter()
    head, _ = train_head(emb, labels, 3)
    head_train_s = time.perf_counter() - started
    archive = rng.normal(size=(100_000, 1024)).astype(np.float32)
    apply_s = _median_s(lambda: predict_proba(head, archive), repeats=3)
    print(
        json.dumps(
            {
                "torch_threads": torch.get_num_threads(),
                "crnn_infer_s_per_clip": round(infer_s, 4),
                "crnn_finetune_s_per_step_of_8_clips": round(step_s, 3),
                "optical_flow_s_per_clip": round(flow_s, 4),
                "head_train_s": round(head_train_s, 3),
                "head_apply_embeddings_per_s": round(100_000 / apply_s),
            }
        )
    )


if __name__ == "__main__":
    main()
