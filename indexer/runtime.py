"""Per-process model cache: each worker loads its models lazily, once, behind one lock, and unloads the oldest.

The action model, the face models, the score-bug OCR engine and the editors' learned models all live in one
:class:`ModelCache` (:data:`models`) of at most ``HL_MODEL_CACHE_SIZE`` entries; the least recently
used entry is unloaded when a new one would exceed it, and :meth:`ModelCache.unload` drops entries
on demand (a re-registered or tampered weights file is then read again).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch
from django.conf import settings

from indexer.errors import PermanentError
from indexer.stages.faces import FaceScanParams
from ml.device import Placement, available_cpus
from ml.device import placement as resolve_placement
from ml.faces import FaceRecognizer
from ml.ocr import OcrEngine, OcrWeights
from ml.preprocessing import resize_short_side
from ml.recognizer import ActionRecognizer
from ml.weights import VideoModelWeights, WeightsError

T = TypeVar("T")


class ModelCache:
    """A bounded, thread-safe least-recently-used cache of loaded models, one per worker process.

    Args:
        max_size: entries kept, or a callable returning it (read at every load, so a setting can change it).
    """

    def __init__(self, max_size: int | Callable[[], int]) -> None:
        self._max_size = max_size
        self._lock = threading.RLock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The entry under ``key``, calling ``load()`` (under the lock: one load at a time) when absent.

        Raises:
            Whatever ``load`` raises; nothing is cached then.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            value = load()
            self._entries[key] = value
            limit = max(1, self._max_size() if callable(self._max_size) else self._max_size)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)
            return value

    def unload(self, predicate: Callable[[Hashable], bool] | None = None) -> int:
        """Drop the entries whose key satisfies ``predicate`` (every entry without one).

        Returns:
            The number of entries dropped.
        """
        with self._lock:
            keys = [k for k in self._entries if predicate is None or predicate(k)]
            for key in keys:
                del self._entries[key]
            return len(keys)

    def keys(self) -> list[Hashable]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)


#: The worker process's models: ``("action", name, crop, placement)``, ``("faces", detector, short side[, copy])``,
#: ``("ocr", weights, threads)``,
#: ``("learned", pk, sha256)``.
models = ModelCache(lambda: settings.HL_MODEL_CACHE_SIZE)
_resolved_placement = functools.cache(resolve_placement)  # (HL_DEVICE, HL_PRECISION) → Placement, once per process


def model_weights(name: str | None = None) -> VideoModelWeights:
    """Metadata of the configured action model (``HL_ACTION_MODEL``: ``"i3d"`` or ``"slowfast"``).

    PyTorchVideo publishes no digest for the SlowFast checkpoint; ``HL_SLOWFAST_SHA256`` pins one, and
    the file is then verified against it when fetched and when loaded.

    Raises:
        PermanentError: the name is unknown.
    """
    name = name or settings.HL_ACTION_MODEL
    if name == "i3d":
        from ml.i3d import I3DWeights

        return I3DWeights.DEFAULT.value
    if name == "slowfast":
        from ml.slowfast import SlowFastWeights

        spec = SlowFastWeights.DEFAULT.value
        if settings.HL_SLOWFAST_SHA256:
            spec = dataclasses.replace(spec, file=dataclasses.replace(spec.file, sha256=settings.HL_SLOWFAST_SHA256))
        return spec
    raise PermanentError(f"unknown HL_ACTION_MODEL {name!r}: use 'i3d' or 'slowfast'")


def decode_short_side() -> int:
    """Short side, in pixels, the pipeline decodes at for the configured model and crop."""
    return resize_short_side(settings.HL_INPUT_SIZE, model_weights())


def placement() -> Placement:
    """Device and precision the models run at (``HL_DEVICE``, ``HL_PRECISION``), resolved once per process.

    Raises:
        PermanentError: an unknown setting, or CUDA asked for where no GPU is visible.
    """
    try:
        return _resolved_placement(settings.HL_DEVICE, settings.HL_PRECISION)
    except ValueError as exc:
        raise PermanentError(str(exc)) from exc


def action_recognizer() -> ActionRecognizer:
    """The configured action model, loaded on the first call in this process.

    Raises:
        PermanentError: the weights are missing or corrupt (run ``python manage.py fetch_weights``), or
            ``HL_DEVICE`` / ``HL_PRECISION`` cannot be resolved (see :func:`placement`).
    """
    name = settings.HL_ACTION_MODEL
    place = placement()

    def load() -> ActionRecognizer:
        weights = model_weights(name)
        torch.set_num_threads(settings.HL_TORCH_THREADS or available_cpus())
        try:
            model = _build(name, weights)
        except WeightsError as exc:
            raise PermanentError(str(exc)) from exc
        return ActionRecognizer(model, weights, crop_size=settings.HL_INPUT_SIZE, placement=place)

    return models.get(("action", name, settings.HL_INPUT_SIZE, place.describe()), load)


def _build(name: str, weights: VideoModelWeights) -> torch.nn.Module:
    if name == "slowfast":
        from ml.slowfast import slowfast_r50

        return slowfast_r50(weights=weights, weights_dir=settings.HL_WEIGHTS_DIR)
    from ml.i3d import i3d_rgb

    return i3d_rgb(weights=weights, weights_dir=settings.HL_WEIGHTS_DIR)


def face_recognizer(copy: int = 0) -> FaceRecognizer:
    """The dlib face detector, landmark model and descriptor network, loaded on the first call in this process.

    Args:
        copy: which instance: the face step scans ``HL_FACE_THREADS`` shares of a game at once, each
            thread with its own copy (dlib's models are not thread-safe; each copy serialises its calls).

    Raises:
        PermanentError: the face weights are missing or corrupt (run ``python manage.py fetch_weights``), or
            ``HL_FACE_DETECTOR`` is unknown.
    """
    name = settings.HL_FACE_DETECTOR

    def load() -> FaceRecognizer:
        try:
            return FaceRecognizer(settings.HL_WEIGHTS_DIR, detector=name, detect_short_side=settings.HL_FACE_SHORT_SIDE)
        except (WeightsError, ValueError) as exc:
            raise PermanentError(str(exc)) from exc

    key = ("faces", name, settings.HL_FACE_SHORT_SIDE)
    return models.get(key + ((copy,) if copy else ()), load)


def face_scan_params() -> FaceScanParams:
    """The face scan's sampling and tracking knobs from the ``HL_FACE_*`` settings (linking thresholds: defaults)."""
    return FaceScanParams(
        min_fps=settings.HL_FACE_MIN_FPS,
        max_fps=settings.HL_FACE_MAX_FPS,
        short_side=settings.HL_FACE_SHORT_SIDE,
        min_faces=settings.HL_FACE_MIN_TRACK_FACES,
    )


def ocr_engine() -> OcrEngine:
    """The score-bug OCR engine (PP-OCRv4 through RapidOCR); its models load on first use.

    Cached in :data:`models` under ``("ocr", weights name, HL_GRAPHICS_OCR_THREADS)``.
    """
    threads = settings.HL_GRAPHICS_OCR_THREADS
    weights = OcrWeights.DEFAULT
    return models.get(("ocr", weights.name, threads), lambda: OcrEngine(weights, threads=threads))


def ocr_version() -> str:
    """Name and weights digest of the OCR models, e.g. ``pp_ocrv4@48fc40f2`` (keys the graphics artifact)."""
    weights = OcrWeights.DEFAULT
    return f"{weights.name.lower()}@{weights.value.rec_sha256[:8]}"
