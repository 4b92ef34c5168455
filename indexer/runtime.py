"""Per-process model cache: each worker loads the action model and the face models once, lazily, behind a lock."""

from __future__ import annotations

import threading

import torch
from django.conf import settings

from indexer.errors import PermanentError
from indexer.stages.analysis import AnalysisParams
from ml.faces import FaceAnalyzer
from ml.ocr import OcrEngine, OcrWeights
from ml.recognizer import ActionRecognizer, resize_short_side
from ml.weights import VideoModelWeights, WeightsError

_lock = threading.Lock()
_recognizers: dict[str, ActionRecognizer] = {}


def model_weights(name: str | None = None) -> VideoModelWeights:
    """Metadata of the configured action model (``HL_ACTION_MODEL``: ``"i3d"`` or ``"slowfast"``).

    Raises:
        PermanentError: the name is unknown.
    """
    name = name or settings.HL_ACTION_MODEL
    if name == "i3d":
        from ml.i3d import I3DWeights

        return I3DWeights.DEFAULT.value
    if name == "slowfast":
        from ml.slowfast import SlowFastWeights

        return SlowFastWeights.DEFAULT.value
    raise PermanentError(f"unknown HL_ACTION_MODEL {name!r}: use 'i3d' or 'slowfast'")


def decode_short_side() -> int:
    """Short side, in pixels, the pipeline decodes at for the configured model and crop."""
    return resize_short_side(settings.HL_INPUT_SIZE, model_weights())


def analysis_params() -> AnalysisParams:
    """The analysis pass's sampling and batching, from the ``HL_*`` settings and the configured model."""
    return AnalysisParams(
        sample_fps=settings.HL_SAMPLE_FPS,
        window_frames=settings.HL_WINDOW_FRAMES,
        overlap=settings.HL_WINDOW_OVERLAP,
        short_side=decode_short_side(),
        batch_windows=settings.HL_BATCH_WINDOWS,
    )


def action_recognizer() -> ActionRecognizer:
    """The configured action model, loaded on the first call in this process.

    Raises:
        PermanentError: the weights are missing or corrupt (run ``python manage.py fetch_weights``).
    """
    name = settings.HL_ACTION_MODEL
    with _lock:
        if name not in _recognizers:
            weights = model_weights(name)
            if settings.HL_TORCH_THREADS:
                torch.set_num_threads(settings.HL_TORCH_THREADS)
            try:
                model = _build(name, weights)
            except WeightsError as exc:
                raise PermanentError(str(exc)) from exc
            _recognizers[name] = ActionRecognizer(model, weights, crop_size=settings.HL_INPUT_SIZE)
        return _recognizers[name]


def _build(name: str, weights: VideoModelWeights) -> torch.nn.Module:
    if name == "slowfast":
        from ml.slowfast import slowfast_r50

        return slowfast_r50(weights=weights, weights_dir=settings.HL_WEIGHTS_DIR)
    from ml.i3d import i3d_rgb

    return i3d_rgb(weights=weights, weights_dir=settings.HL_WEIGHTS_DIR)


_face_analyzers: dict[str, FaceAnalyzer] = {}


def face_analyzer() -> FaceAnalyzer:
    """The dlib face detector, landmark model and descriptor network, loaded on the first call in this process.

    Raises:
        PermanentError: the face weights are missing or corrupt (run ``python manage.py fetch_weights``), or
            ``HL_FACE_DETECTOR`` is unknown.
    """
    name = settings.HL_FACE_DETECTOR
    with _lock:
        if name not in _face_analyzers:
            try:
                _face_analyzers[name] = FaceAnalyzer(
                    settings.HL_WEIGHTS_DIR, detector=name, detect_short_side=settings.HL_FACE_SHORT_SIDE
                )
            except (WeightsError, ValueError) as exc:
                raise PermanentError(str(exc)) from exc
        return _face_analyzers[name]


_ocr_engines: dict[int, OcrEngine] = {}


def ocr_engine() -> OcrEngine:
    """The score-bug OCR engine (PP-OCRv4 through RapidOCR), one per process; its models load on first use."""
    with _lock:
        if not _ocr_engines:
            _ocr_engines[0] = OcrEngine(OcrWeights.DEFAULT, threads=settings.HL_GRAPHICS_OCR_THREADS)
        return _ocr_engines[0]


def ocr_version() -> str:
    """Name and weights digest of the OCR models, e.g. ``pp_ocrv4@48fc40f2`` (keys the graphics artifact)."""
    weights = OcrWeights.DEFAULT
    return f"{weights.name.lower()}@{weights.value.rec_sha256[:8]}"
