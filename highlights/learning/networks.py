"""Registered networks: built from their typed hyperparameters, read once per worker, checked against their sha256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from django.conf import settings

from highlights.learning.errors import LearningError
from highlights.learning.params import CRNNParams, HeadParams
from highlights.models import ActionClassifier
from indexer import runtime
from ml.crnn import CRNN, TwoStreamCRNN, flow_backbone
from ml.heads import EmbeddingHead
from ml.mobilenet_v2 import MobileNetV2
from ml.weights import sha256_file


def build_crnn(
    num_classes: int, params: CRNNParams, *, backbone: MobileNetV2, two_stream: bool
) -> CRNN | TwoStreamCRNN:
    """A CRNN (or two-stream CRNN) on ``backbone`` with the registry's hyperparameters."""

    def stream(net: MobileNetV2) -> CRNN:
        return CRNN(net, num_classes, hidden_size=params.hidden, trainable_blocks=params.trainable_blocks)

    rgb = stream(backbone)
    return TwoStreamCRNN(rgb, stream(flow_backbone(backbone))) if two_stream else rgb


@torch.inference_mode()
def crnn_proba(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """``(N, K)`` float32 softmax probabilities of a CRNN in ``eval()`` mode on ``(N, C, T, H, W)`` inputs.

    The model runs on the worker's device and precision (:func:`indexer.runtime.placement`).
    """
    place = runtime.placement()
    model.to(place.device)
    parts = []
    for part in x.split(batch_size):
        with place.autocast():
            logits = model(part.to(place.device))[0]
        parts.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(parts).numpy()


def load_network(model: ActionClassifier) -> torch.nn.Module:
    """The registered network in ``eval()`` mode, read once per worker process and checked against its sha256.

    Networks live in the worker's model cache (``indexer.runtime.models``) under
    ``("learned", pk, sha256)``; :func:`unload_network` drops one.

    Raises:
        LearningError: the weights file is missing, altered or does not fit the registered shapes.
    """

    def load() -> torch.nn.Module:
        path = Path(settings.HL_MODELS_DIR) / model.weights_path
        if not path.is_file() or sha256_file(path) != model.sha256:
            raise LearningError(f"{path} is missing or does not match the registered sha256 of {model}")
        k = len(model.classes)
        if model.kind == ActionClassifier.Kind.HEAD:
            head = HeadParams.from_dict(model.params)
            network: torch.nn.Module = EmbeddingHead(head.in_features, k, hidden=head.hidden)
        else:
            two_stream = model.kind == ActionClassifier.Kind.TWO_STREAM
            network = build_crnn(k, CRNNParams.from_dict(model.params), backbone=MobileNetV2(), two_stream=two_stream)
        try:
            network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
        except (RuntimeError, KeyError) as exc:
            raise LearningError(f"{path}: {exc}") from exc
        return network.eval()

    return runtime.models.get(("learned", model.pk, model.sha256), load)


def unload_network(model: ActionClassifier) -> int:
    """Drop a registered model's networks from this worker's model cache (read from the file on next use).

    Returns:
        The number of cache entries dropped (0 or 1).
    """
    return runtime.models.unload(lambda key: key[:2] == ("learned", model.pk))
