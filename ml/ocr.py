"""Scene-text OCR for broadcast graphics: PaddleOCR's PP-OCRv4 detector and recogniser in ONNX (RapidOCR).

References:
    * M. Liao et al., "Real-time Scene Text Detection with Differentiable Binarization", AAAI 2020: the DB
      text detector (PP-OCRv4 det is a DB head on a lightweight backbone).
    * B. Shi, X. Bai and C. Yao, "An End-to-End Trainable Neural Network for Image-based Sequence Recognition",
      TPAMI 2017: CRNN with CTC decoding, the recogniser's output head (PP-OCRv4 rec, SVTR-LCNet backbone).

The two ONNX files (Latin and Chinese characters, 4.7 + 10.9 MB) ship inside the PyPI wheel
``rapidocr-onnxruntime==1.4.4``, so nothing is downloaded; :class:`OcrWeights` names them with their
sha256, checked on first load. The engine loads lazily, once, on the first call (never at import).
The angle classifier is not used: score bugs are upright.

Chosen over Debian's Tesseract 5.3 by accuracy on the shared broadcast clips (``benchmarks/graphics.py``: the
same score-bug crops of the four broadcast clips, three samples each, enlarged 2x for both engines; Tesseract
in sparse-text mode ``--psm 11``): expected names found 1.00 (RapidOCR) vs 0.67 (Tesseract), expected
clock, count and score strings found 0.86 vs 0.62. On MLB's bug, for one, Tesseract read
``5. AGUILAR Orort 145 ave wee 0), 1-2 | PITCHES Wei 0``: the team codes beside their logos (LAD, MIL) are
lost. Nothing here imports Django.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ml.weights import ChecksumError, WeightsNotFoundError, sha256_file

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class OcrModelFiles:
    """The detector and recogniser files of one OCR model set, inside an installed Python package.

    Attributes:
        package: import name of the package holding the files.
        requirement: the pinned PyPI requirement that ships them.
        det, rec: paths of the ONNX files relative to the package.
        det_sha256, rec_sha256: their sha256.
    """

    package: str
    requirement: str
    det: str
    det_sha256: str
    rec: str
    rec_sha256: str

    def path(self, member: str, sha256: str) -> Path:
        """The verified path of ``member``.

        Raises:
            WeightsNotFoundError: the package or the file is missing (``pip install`` the requirement).
            ChecksumError: the file's sha256 differs.
        """
        try:
            path = Path(str(resources.files(self.package) / member))
        except ModuleNotFoundError as exc:
            raise WeightsNotFoundError(f"OCR models need {self.requirement} (pip install it)") from exc
        if not path.is_file():
            raise WeightsNotFoundError(f"{path} is missing (reinstall {self.requirement})")
        if sha256_file(path) != sha256:
            raise ChecksumError(f"{path}: sha256 differs from {self.requirement}'s")
        return path


class OcrWeights(enum.Enum):
    """OCR model sets. ``DEFAULT``: PP-OCRv4 mobile det + rec from ``rapidocr-onnxruntime==1.4.4``."""

    PP_OCRV4 = OcrModelFiles(
        package="rapidocr_onnxruntime",
        requirement="rapidocr-onnxruntime==1.4.4",
        det="models/ch_PP-OCRv4_det_infer.onnx",
        det_sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        rec="models/ch_PP-OCRv4_rec_infer.onnx",
        rec_sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    )
    DEFAULT = PP_OCRV4


@dataclass(frozen=True)
class TextLine:
    """One line of text found and read in an image.

    Attributes:
        box: ``(x, y, w, h)`` axis-aligned box in pixels of the image passed in.
        text: the characters read (may be empty).
        confidence: mean character probability of the CTC decoding, in [0, 1].
    """

    box: Box
    text: str
    confidence: float


class OcrEngine:
    """Text detection and recognition on RGB images, loaded on first use.

    Args:
        weights: the model set.
        threads: ONNX Runtime intra-op threads (0: its default, one per core).
        det_max_side: long side, pixels, above which the detector shrinks an image (RapidOCR's ``limit_side_len``
            with ``limit_type="max"``); smaller images are read at their own size.

    Attributes:
        stats: running totals since construction: ``detect_calls``, ``detect_pixels`` (of the images passed in),
            ``detect_s``, ``recognize_crops``, ``recognize_calls``, ``recognize_s`` (wall seconds). Pixels are the
            steadier measure of detection work on a shared machine (the detector's cost grows with them).
    """

    def __init__(self, weights: OcrWeights = OcrWeights.DEFAULT, *, threads: int = 0, det_max_side: int = 1280) -> None:
        self.weights = weights
        self.threads = threads
        self.det_max_side = det_max_side
        self.stats: dict[str, float] = dict.fromkeys(
            ("detect_calls", "detect_pixels", "detect_s", "recognize_calls", "recognize_crops", "recognize_s"), 0.0
        )
        self._lock = threading.Lock()
        self._engine: Any = None

    def _loaded(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                files = self.weights.value
                threads = self.threads if self.threads > 0 else -1
                self._engine = RapidOCR(
                    det_model_path=str(files.path(files.det, files.det_sha256)),
                    rec_model_path=str(files.path(files.rec, files.rec_sha256)),
                    det_limit_side_len=self.det_max_side,
                    det_limit_type="max",
                    intra_op_num_threads=threads,
                    use_cls=False,
                )
            return self._engine

    def detect(self, image: np.ndarray) -> list[Box]:
        """Text-line boxes in ``image``, ``(H, W, 3)`` uint8 RGB, as ``(x, y, w, h)`` pixels, top to bottom."""
        engine = self._loaded()
        started = time.perf_counter()
        quads, _ = engine.text_det(np.ascontiguousarray(image[:, :, ::-1]))
        self.stats["detect_calls"] += 1
        self.stats["detect_pixels"] += image.shape[0] * image.shape[1]
        self.stats["detect_s"] += time.perf_counter() - started
        if quads is None or len(quads) == 0:
            return []
        boxes = []
        for quad in np.asarray(quads):
            x0, y0 = np.floor(quad.min(axis=0)).astype(int)
            x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
            boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
        return sorted(boxes, key=lambda b: (b[1], b[0]))

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Read each ``(h, w, 3)`` uint8 RGB crop holding one line of text: ``(text, confidence)`` per crop."""
        if not crops:
            return []
        engine = self._loaded()
        started = time.perf_counter()
        results, _ = engine.text_rec([np.ascontiguousarray(c[:, :, ::-1]) for c in crops])
        self.stats["recognize_calls"] += 1
        self.stats["recognize_crops"] += len(crops)
        self.stats["recognize_s"] += time.perf_counter() - started
        return [(str(text), float(score)) for text, score in results]

    def read(self, image: np.ndarray) -> list[TextLine]:
        """Detect then recognise every text line of ``image``, ``(H, W, 3)`` uint8 RGB."""
        boxes = self.detect(image)
        texts = self.recognize([image[y : y + h, x : x + w] for x, y, w, h in boxes])
        return [TextLine(box, text, conf) for box, (text, conf) in zip(boxes, texts, strict=True)]
