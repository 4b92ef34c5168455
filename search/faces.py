"""FAISS indexes of face descriptors: one of face tracks, one of enrolled people's reference photos.

Ids are the ``FaceTrack`` and ``PersonPhoto`` primary keys. :class:`~search.index.VectorIndex`
ranks by cosine similarity of L2-normalised vectors, while dlib's customary test is a Euclidean
distance under 0.6 between raw descriptors, whose norms are not 1 (measured on the shared faces:
1.44 to 1.59). Cosine order is therefore only close to Euclidean order: the indexes propose a
generous set of candidates (tens per query), and the decision is taken on exact Euclidean distances
computed from the raw descriptors stored in PostgreSQL (``highlights.people.nearest_people``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ml.faces import DESCRIPTOR_DIM
from search.index import Fold, Training, VectorIndex


@functools.cache
def _index(path: Path, factory: str, keep: int, training: Training, fold: Fold) -> VectorIndex:
    return VectorIndex(path, DESCRIPTOR_DIM, factory, keep, training, fold)


def _training() -> Training:
    return Training(
        settings.HL_FAISS_FACE_TRAINED_FACTORY,
        settings.HL_FAISS_FACE_TRAIN_ROWS,
        settings.HL_FAISS_RETRAIN_GROWTH,
        settings.HL_FAISS_FACE_NPROBE,
        settings.HL_FAISS_TRAIN_SAMPLE,
    )


def _fold() -> Fold:
    return Fold(settings.HL_FAISS_DELTA_ROWS, settings.HL_FAISS_DELTA_SHARE)


def face_track_index() -> VectorIndex:
    """Face-track embeddings (ids = ``FaceTrack`` primary keys); trained from ``HL_FAISS_FACE_TRAIN_ROWS`` tracks."""
    path = Path(settings.HL_INDEX_DIR) / "face-tracks-dlib.faiss"
    return _index(path, settings.HL_FAISS_FACE_FACTORY, settings.HL_INDEX_KEEP_SNAPSHOTS, _training(), _fold())


def person_photo_index() -> VectorIndex:
    """Reference-photo descriptors of enrolled people (ids = ``PersonPhoto`` primary keys)."""
    path = Path(settings.HL_INDEX_DIR) / "face-players-dlib.faiss"  # the file name from before the rename, kept
    return _index(path, settings.HL_FAISS_FACE_FACTORY, settings.HL_INDEX_KEEP_SNAPSHOTS, _training(), _fold())
