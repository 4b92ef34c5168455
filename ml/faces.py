"""Face detection, 5-point alignment and 128-d face descriptors with dlib.

References:
    * N. Dalal and B. Triggs, "Histograms of Oriented Gradients for Human Detection", CVPR 2005:
      dlib's default frontal face detector (HOG features, linear SVM, sliding window pyramid).
    * D. E. King, "Max-Margin Object Detection", arXiv:1502.00046, 2015: the optional CNN (MMOD)
      detector (accurate, about 11 s per 360p frame on two CPU cores, so not the default).
    * dlib's ``dlib_face_recognition_resnet_model_v1``: a ResNet-34-like network mapping an aligned
      150 x 150 face chip to a 128-d descriptor (99.38% on LFW). Two descriptors at Euclidean
      distance below 0.6 are customarily the same person.

The three weight files come from the PyPI package ``face-recognition-models==0.3.0`` (its files only:
it is downloaded with ``pip download --no-deps`` and never installed) and are checked by sha256.

Detection runs on a copy of the image whose short side is ``detect_short_side`` pixels (the HOG
detector costs about 0.6 s per 720p frame and 0.14 s at 360p); landmarks and descriptors are then
computed on the full-resolution image, so the 150 x 150 chip is cut from the sharpest pixels.
Nothing here imports Django.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ml.weights import WeightFile, locate

DESCRIPTOR_DIM = 128


class FaceWeights(enum.Enum):
    """dlib's face model files (all CC0), carried by ``face-recognition-models==0.3.0``."""

    RESNET = WeightFile(
        relpath="dlib/dlib_face_recognition_resnet_model_v1.dat",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        package="face-recognition-models==0.3.0",
        member="face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    )
    LANDMARKS_5 = WeightFile(
        relpath="dlib/shape_predictor_5_face_landmarks.dat",
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        package="face-recognition-models==0.3.0",
        member="face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
    )
    MMOD = WeightFile(
        relpath="dlib/mmod_human_face_detector.dat",
        sha256="4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
        package="face-recognition-models==0.3.0",
        member="face_recognition_models/models/mmod_human_face_detector.dat",
    )


class FaceImageError(Exception):
    """An image file cannot be read."""


@dataclass(frozen=True)
class FaceDetection:
    """One face found in one image.

    Attributes:
        box: ``(x, y, w, h)`` in pixels of the image passed in (clipped to it).
        score: detector confidence (HOG: SVM margin, about -0.5..3.5; CNN: MMOD confidence).
        quality: in [0, 1]: ``sigmoid(2 * score) * min(1, short box side / 80 px)``, so small or
            doubtful detections weigh less in a track's mean descriptor.
        descriptor: ``(128,)`` float32 ResNet descriptor (not unit norm: 1.44 to 1.59 on the shared faces).
    """

    box: tuple[int, int, int, int]
    score: float
    quality: float
    descriptor: np.ndarray


def model_version(detector: str) -> str:
    """Version string stored with every face track, e.g. ``"dlib_resnet_v1@55533b28+hog"``."""
    return f"dlib_resnet_v1@{FaceWeights.RESNET.value.short_sha}+{detector}"


def load_image(path: Path) -> np.ndarray:
    """Read a JPEG/PNG/WebP file as ``(H, W, 3)`` uint8 RGB.

    Raises:
        FaceImageError: the file is missing or is not an image OpenCV can decode.
    """
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else np.empty(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FaceImageError(f"{path}: not a readable image")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def detection_quality(score: float, box: tuple[int, int, int, int]) -> float:
    """Quality in [0, 1] of a detection: detector confidence times a size factor (faces under 80 px lose detail)."""
    return float(1.0 / (1.0 + math.exp(-2.0 * score)) * min(1.0, min(box[2], box[3]) / 80.0))


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` ``(N, 128)`` and ``b`` ``(M, 128)``, ``(N, M)`` float32."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, DESCRIPTOR_DIM)
    b = np.asarray(b, dtype=np.float32).reshape(-1, DESCRIPTOR_DIM)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


class FaceRecognizer:
    """Detect, align and describe faces in RGB images.

    Args:
        weights_dir: folder holding the ``dlib/`` weight files (``HL_WEIGHTS_DIR``).
        detector: ``"hog"`` (default, fast) or ``"cnn"`` (MMOD, slow on CPU).
        detect_short_side: short side, in pixels, of the copy the detector scans; images already
            smaller are scanned as they are.
        upsample: times the detector doubles the image first (finds faces half the size, 4x the cost).
            0, the default: HOG's 80 x 80 px window finds faces from about 80 px on the 360 px scan,
            the size from which :func:`detection_quality` stops discounting them, so no descriptor is
            computed for a face too small to use. Measured on the shared footage at 360 px: upsampling
            once costs 4.5x (0.100 against 0.022 s CPU per 640 x 360 frame) and finds no other face.

    Raises:
        ValueError: unknown detector name.
        WeightsError: a weight file is missing or corrupt (run ``python manage.py fetch_weights``).

    dlib releases the GIL but its models are not documented as thread-safe: calls are serialised.
    """

    def __init__(self, weights_dir: Path, *, detector: str = "hog", detect_short_side: int = 360, upsample: int = 0):
        import dlib

        if detector not in ("hog", "cnn"):
            raise ValueError(f"unknown face detector {detector!r}: use 'hog' or 'cnn'")
        self.detector_name = detector
        self.detect_short_side = detect_short_side
        self.upsample = upsample
        self._lock = threading.Lock()
        self._shape = dlib.shape_predictor(str(locate(FaceWeights.LANDMARKS_5.value, weights_dir)))
        self._resnet = dlib.face_recognition_model_v1(str(locate(FaceWeights.RESNET.value, weights_dir)))
        if detector == "cnn":
            self._cnn = dlib.cnn_face_detection_model_v1(str(locate(FaceWeights.MMOD.value, weights_dir)))
        else:
            self._hog = dlib.get_frontal_face_detector()

    @property
    def version(self) -> str:
        return model_version(self.detector_name)

    def detect(self, image: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """Face boxes ``(x, y, w, h)`` in ``image`` pixels with their detector scores.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        """
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_short_side / min(height, width))
        size = (round(width * scale), round(height * scale))
        small = image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        with self._lock:
            if self.detector_name == "cnn":
                found = [(d.rect, float(d.confidence)) for d in self._cnn(small, self.upsample)]
            else:
                rects, scores, _ = self._hog.run(small, self.upsample, 0.0)
                found = list(zip(rects, (float(s) for s in scores), strict=True))
        boxes = []
        for rect, score in found:
            x0, y0 = max(0, round(rect.left() / scale)), max(0, round(rect.top() / scale))
            x1, y1 = min(width, round((rect.right() + 1) / scale)), min(height, round((rect.bottom() + 1) / scale))
            if x1 - x0 >= 8 and y1 - y0 >= 8:
                boxes.append(((x0, y0, x1 - x0, y1 - y0), score))
        return boxes

    def describe(self, image: np.ndarray, boxes: list[tuple[int, int, int, int]], *, jitters: int = 0) -> np.ndarray:
        """128-d descriptors of the given face boxes after 5-point alignment, ``(N, 128)`` float32.

        Args:
            image: ``(H, W, 3)`` uint8 RGB, the image the boxes are in.
            boxes: ``(x, y, w, h)`` pixel boxes.
            jitters: also describe this many randomly jittered copies of each chip and average
                (dlib's ``num_jitters``: more robust, ``1 + jitters`` times the cost; for still photos).
        """
        import dlib

        if not boxes:
            return np.empty((0, DESCRIPTOR_DIM), dtype=np.float32)
        image = np.ascontiguousarray(image)
        with self._lock:
            shapes = dlib.full_object_detections()
            for x, y, w, h in boxes:
                shapes.append(self._shape(image, dlib.rectangle(x, y, x + w - 1, y + h - 1)))
            vectors = self._resnet.compute_face_descriptor(image, shapes, jitters)
        return np.array([np.array(v) for v in vectors], dtype=np.float32).reshape(-1, DESCRIPTOR_DIM)

    def detect_and_describe(self, image: np.ndarray, *, jitters: int = 0) -> list[FaceDetection]:
        """Every face in ``image``: box, score, quality and descriptor, in detector order.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            jitters: see :meth:`describe`.
        """
        found = self.detect(image)
        descriptors = self.describe(image, [box for box, _ in found], jitters=jitters)
        return [
            FaceDetection(box=box, score=score, quality=detection_quality(score, box), descriptor=vector)
            for (box, score), vector in zip(found, descriptors, strict=True)
        ]
