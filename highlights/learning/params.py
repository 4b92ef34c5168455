"""Typed hyperparameters of the learned models, stored as JSON in ``ActionClassifier.params``.

The JSON keys are the field names, so a registered model is rebuilt from its row alone
(:meth:`HeadParams.from_dict`, :meth:`CRNNParams.from_dict`) whatever the settings are now.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self

from django.conf import settings

from highlights.learning.errors import LearningError


@dataclass(frozen=True)
class _Stored:
    """JSON round trip of a frozen dataclass of ints (``ActionClassifier.params``)."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON object."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read the fields back from a registered model's ``params`` (extra keys are ignored).

        Raises:
            LearningError: a field is missing.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise LearningError(f"stored hyperparameters lack {', '.join(missing)}")
        return cls(**{n: data[n] for n in names})


@dataclass(frozen=True)
class HeadParams(_Stored):
    """A few-shot head on clip embeddings (``ml.heads``).

    Attributes:
        in_features: embedding size D of the parent action model (I3D 1024, SlowFast 2304).
        hidden: MLP hidden width; 0 trains a linear probe (``HL_HEAD_HIDDEN``).
        epochs: full-batch AdamW steps (``HL_HEAD_EPOCHS``).
        rows: training rows: one clip embedding per clip plus its window embeddings (``HL_HEAD_WINDOWS``).
    """

    in_features: int
    hidden: int
    epochs: int
    rows: int


@dataclass(frozen=True)
class CRNNParams(_Stored):
    """A CRNN or two-stream CRNN fine-tuned from the ImageNet MobileNetV2 (``ml.crnn``).

    Attributes:
        frames: T frames per clip, evenly spaced over it (``HL_CRNN_FRAMES``).
        input_size: square centre crop, pixels (``HL_CRNN_INPUT_SIZE``).
        hidden: GRU state size, i.e. the embedding size.
        trainable_blocks: last MobileNetV2 feature blocks fine-tuned (``HL_CRNN_TRAINABLE_BLOCKS``).
        epochs: passes over the training clips (``HL_CRNN_EPOCHS``).
    """

    frames: int
    input_size: int
    hidden: int
    trainable_blocks: int
    epochs: int

    @classmethod
    def from_settings(cls) -> CRNNParams:
        """The hyperparameters a new CRNN is trained with (the ``HL_CRNN_*`` settings)."""
        return cls(
            frames=settings.HL_CRNN_FRAMES,
            input_size=settings.HL_CRNN_INPUT_SIZE,
            hidden=256,
            trainable_blocks=settings.HL_CRNN_TRAINABLE_BLOCKS,
            epochs=settings.HL_CRNN_EPOCHS,
        )
