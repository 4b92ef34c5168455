"""The action model's cost per window by runtime, side by side on the same real windows; prints one JSON line.

Issue #14's probe: can the I3D get 1.5x cheaper on a 2-core AVX2 CPU without bf16 while keeping every
label? Every window of the shared clips (``../shared/data/video``: 16 frames at 5 fps, 25 % overlap,
centre crop 224 px, as the pipeline samples them) goes through each route in turn, in batches of
``--batch`` windows, at ``--threads`` threads:

  * ``torch``: today's path, :class:`ml.recognizer.ActionRecognizer` on the PyTorch I3D (channels-last
    3-D, batch norm folded);
  * ``openvino``: the same model exported to ONNX (``torch.onnx.export(dynamo=True)``: static
    ``(T, H, W)``, so every "SAME" padding is a constant, dynamic batch) and compiled by OpenVINO's CPU
    plugin in float32.

For each: ``s_per_window`` (wall) and ``cpu_s_per_window`` (process CPU seconds, every thread), and
against ``torch``: clips whose top-1 video class is kept (the mean of its windows' probabilities), the
largest change of a window's class probability and the smallest cosine of its embeddings (the bar of
issue #14: every top-1 kept, change <= 0.05, cosine >= 0.99).

Measured on the 2-core AMD EPYC (AVX2, no AVX-512, no VNNI, no bf16), 46 windows, batches of 4:

  * quiet (load average 2.1): torch 0.525 s (1.008 CPU s) per window, openvino 0.526 s (0.748 CPU s):
    ``wall_speedup`` 1.0, ``cpu_speedup`` 1.35; a second quiet run (2.2): torch 0.603 (1.029), openvino
    0.419 (0.790): 1.44 wall, 1.30 CPU; labels identical in all runs (8 of 8 top-1, change < 1e-5, cosine 1.0);
  * loaded (load average 10): torch 2.97 s (1.394), openvino 1.57 s (0.848): 1.89 wall, 1.64 CPU.

Routes probed by hand in the same way and left out (CPU s per window, load 8-12, torch 1.29-1.42 beside
them): ``torch.jit.freeze`` + ``optimize_for_inference`` 2.07 (slower); ONNX Runtime 1.32 fp32 about 1.2x
cheaper than torch; its static int8 (QDQ, per-channel, u8 activations so every Conv becomes a
QLinearConv) no cheaper than torch; OpenVINO int8 (NNCF 3.4, calibrated on real windows; also with the
stem in fp32 and with the overflow fix) 0.46-0.60, but 4 of the 8 clips lost their top-1 class
(probability changes up to 0.91, embedding cosine 0.986). So nothing reaches 1.5x on a quiet machine
with the labels kept: the 8x of issue #14 is blocked by this hardware.

OpenVINO's package sends usage telemetry when imported unless the user declined it (``opt_in_out
--opt_out``, or ``CI=true``).

Usage (about 3 minutes on 2 quiet cores; its packages are not installed by ``./dev``)::

    .venv/bin/python -m pip install -r benchmarks/requirements-model-routes.txt

    HL_WEIGHTS_DIR=../shared/weights .venv/bin/python benchmarks/model_routes.py [--batch 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))

from indexer.stages.frames import FrameSampler, window_starts  # noqa: E402  (after the path is set)
from indexer.stages.probe import probe_video  # noqa: E402
from ml.i3d import I3DWeights, i3d_rgb  # noqa: E402
from ml.preprocessing import centre_crop, resize_short_side  # noqa: E402
from ml.recognizer import ActionRecognizer  # noqa: E402

WEIGHTS = I3DWeights.DEFAULT.value
CROP, FRAMES, FPS, OVERLAP = 224, 16, 5.0, 0.25


def clip_windows(path: Path) -> np.ndarray:
    """Every window of ``path`` as the pipeline samples it, centre-cropped: ``(N, 16, 224, 224, 3)`` uint8."""
    probe = probe_video(path)
    sampler = FrameSampler(
        path, width=probe.width, height=probe.height, sample_fps=FPS, short_side=resize_short_side(CROP, WEIGHTS)
    )
    frames = np.concatenate([batch.frames for batch in sampler])
    windows = [frames[s : s + FRAMES] for s in window_starts(len(frames), FRAMES, OVERLAP)]
    padded = [np.concatenate([w, np.repeat(w[-1:], FRAMES - len(w), axis=0)]) for w in windows]
    return centre_crop(np.stack(padded), CROP)


class OpenVinoI3D(torch.nn.Module):
    """The I3D exported to ONNX and compiled by OpenVINO for the CPU in float32, called like the PyTorch model.

    Args:
        model: the PyTorch I3D in ``eval()`` mode.
        threads: OpenVINO inference threads.
    """

    def __init__(self, model: torch.nn.Module, threads: int) -> None:
        import openvino as ov

        super().__init__()
        batch = torch.export.Dim("batch", min=1, max=1024)
        with tempfile.TemporaryDirectory(prefix="hl-routes-") as tmp:
            path = Path(tmp) / "i3d.onnx"
            torch.onnx.export(
                model, (torch.zeros(2, 3, FRAMES, CROP, CROP),), input_names=["clips"],
                output_names=["logits", "embedding"], dynamic_shapes=({0: batch},), dynamo=True,
            ).save(str(path))  # fmt: skip
            core = ov.Core()
            config = {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
            }
            self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, T, H, W)`` float32 → ``(logits (B, 400), embedding (B, 1024))``."""
        result = self.request.infer({0: np.ascontiguousarray(x.numpy())})
        logits, embedding = (torch.from_numpy(np.array(result[out])) for out in self.compiled.outputs)
        return logits, embedding


def timed(recognizer: ActionRecognizer, clips: dict[str, np.ndarray], batch: int) -> dict:
    """Run every clip's windows through ``recognizer``; the first batch is a warm-up, not timed."""
    recognizer(next(iter(clips.values()))[:batch])
    outputs, windows, wall, cpu = {}, 0, 0.0, 0.0
    for name, windows_of_clip in clips.items():
        probs, embeddings = [], []
        for start in range(0, len(windows_of_clip), batch):
            chunk = windows_of_clip[start : start + batch]
            began, began_cpu = time.perf_counter(), time.process_time()
            p, e = recognizer(chunk)
            wall += time.perf_counter() - began
            cpu += time.process_time() - began_cpu
            windows += len(chunk)
            probs.append(p)
            embeddings.append(e)
        outputs[name] = (np.concatenate(probs), np.concatenate(embeddings))
    return {"outputs": outputs, "s_per_window": wall / windows, "cpu_s_per_window": cpu / windows, "windows": windows}


def agreement(reference: dict, other: dict) -> dict:
    """Top-1 video classes kept, largest probability change and smallest embedding cosine against ``reference``."""
    kept, change, cosine = 0, 0.0, 1.0
    for name, (p0, e0) in reference.items():
        p1, e1 = other[name]
        kept += int(p0.mean(axis=0).argmax() == p1.mean(axis=0).argmax())
        change = max(change, float(np.abs(p0 - p1).max()))
        cosine = min(cosine, float((e0 * e1).sum(axis=1).min()))
    return {
        "top1_kept": kept,
        "clips": len(reference),
        "max_prob_change": round(change, 5),
        "min_cosine": round(cosine, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4, help="windows per forward pass (HL_BATCH_WINDOWS)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights_dir = Path(os.environ.get("HL_WEIGHTS_DIR", ROOT / "var" / "weights"))
    clips = {path.name: clip_windows(path) for path in sorted((SHARED / "data" / "video").glob("*.mp4"))}
    model = i3d_rgb(weights=WEIGHTS, weights_dir=weights_dir)
    routes = {
        "torch": ActionRecognizer(model, WEIGHTS, crop_size=CROP),
        "openvino": ActionRecognizer(OpenVinoI3D(model, args.threads), WEIGHTS, crop_size=CROP),
    }
    results = {name: timed(recognizer, clips, args.batch) for name, recognizer in routes.items()}
    reference = results["torch"]
    figures = {}
    for name, result in results.items():
        figures[name] = {
            "s_per_window": round(result["s_per_window"], 3),
            "cpu_s_per_window": round(result["cpu_s_per_window"], 3),
            **({} if name == "torch" else agreement(reference["outputs"], result["outputs"])),
        }
    print(
        json.dumps(
            {
                "benchmark": "model_routes",
                "model": WEIGHTS.version,
                "windows": reference["windows"],
                "batch": args.batch,
                "threads": args.threads,
                "routes": figures,
                "cpu_speedup": round(reference["cpu_s_per_window"] / results["openvino"]["cpu_s_per_window"], 2),
                "wall_speedup": round(reference["s_per_window"] / results["openvino"]["s_per_window"], 2),
                "load_average": round(os.getloadavg()[0], 1),
                "cpu": platform.processor() or platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
