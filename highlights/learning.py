"""Editors' own highlight types: train from verified clips, register versions, apply to the archive, evaluate.

Training data are the clips an editor verified or relabelled (``review_status = verified`` with an
``action``): a clip whose action is one of the wanted labels is an example of it, any other verified
clip is an example of the negative class ``"(other)"``, so the model can also say "none of these".

Two kinds of model (``HighlightModel.Kind``):

* **head** — a linear probe or small MLP (``ml.heads``) on the clip embeddings indexing already
  stored (I3D 1024-d or SlowFast 2304-d). Each verified clip gives its stored clip embedding and,
  when ``HL_HEAD_WINDOWS`` is on and the analysis artifact is still in ``HL_WORK_DIR``, the
  embeddings of the analysis windows centred inside it (more examples from the same clips). The
  metrics are cross-validated with the clips held out whole, on clip embeddings only. Trains in
  seconds; applying it re-scores every stored clip embedding of the parent model, no video decoded.
* **crnn** / **two_stream** — a CRNN (``ml.crnn``: ImageNet MobileNetV2 per frame + GRU), optionally
  with an optical-flow stream, fine-tuned on ``HL_CRNN_FRAMES`` frames per clip. Minutes on the CPU;
  its metrics are on the training clips. Applying it decodes clips again, one game per Celery task.

Every trained model is registered (``HighlightModel``: version, classes, parent weights, metrics,
training clips, weights file under ``HL_MODELS_DIR`` with its sha256) and becomes the active version
of its label set; :func:`rollback` re-activates the previous one. Search matches the labels that the
active version gave with probability at least ``HL_LEARNED_MIN_PROBABILITY`` (``LearnedLabel`` rows).
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, QuerySet

from highlights.models import ActionLabel, Clip, Game, HighlightModel, LearnedLabel, ReviewStatus, Sport
from indexer import runtime
from indexer.artifacts import existing_analysis
from indexer.stages.analysis import Analysis
from indexer.stages.spans import span_frames
from ml.crnn import CRNN, TwoStreamCRNN, clip_tensor, fine_tune, flow_backbone
from ml.heads import EmbeddingHead, cross_val_proba, predict_proba, train_head
from ml.metrics import ClassReport, Evaluation, evaluate_predictions
from ml.mobilenet_v2 import MobileNetV2, MobileNetV2Weights, mobilenet_v2
from ml.weights import WeightsError, sha256_file

logger = logging.getLogger(__name__)

#: The negative class: verified clips that carry none of the wanted labels.
BACKGROUND = "(other)"
#: Clip embeddings scored per matrix product when a head is applied to the archive.
APPLY_BATCH = 4096


class LearningError(ValueError):
    """A model cannot be trained, applied or evaluated as asked (too few clips, unknown label); one readable line."""


def label_set_key(labels: Iterable[str]) -> str:
    """The registry key of a label set: the distinct names, stripped, sorted, comma-joined.

    Raises:
        LearningError: no label, or a name that is empty, contains a comma or is the negative class.
    """
    names = sorted({name.strip() for name in labels})
    if not names or any(not n or "," in n or n == BACKGROUND for n in names):
        raise LearningError(f"labels must be non-empty names without commas, got {names}")
    return ",".join(names)


def define_label(sport: str, name: str) -> ActionLabel:
    """Add an editor's new label to the taxonomy (no model classes: only verified clips and learned models give it).

    Raises:
        LearningError: an unknown sport, a name that cannot be a label (see :func:`label_set_key`), or a
            label of that name already in the sport.
    """
    if sport not in Sport.values:
        raise LearningError(f"unknown sport {sport!r}: use {', '.join(Sport.values)}")
    name = label_set_key([name])
    if len(name) > ActionLabel._meta.get_field("name").max_length:
        raise LearningError(f"label {name[:20]!r}... is too long")
    label, created = ActionLabel.objects.get_or_create(sport=sport, name=name)
    if not created:
        raise LearningError(f"{label} already exists")
    return label


@dataclass(frozen=True)
class Examples:
    """Verified clips and their class indices into ``classes`` (the labels, then ``(other)`` if any negatives)."""

    clips: list[Clip]
    y: np.ndarray
    classes: list[str]


def verified_examples(labels: Sequence[str], *, model_version: str | None = None) -> Examples:
    """The training clips of a label set: every verified clip with an action, labelled by it.

    Args:
        labels: the wanted label names (``ActionLabel.name``).
        model_version: keep only clips indexed by this action model (a head reads its embeddings).

    Raises:
        LearningError: a label has no verified clip.
    """
    wanted = label_set_key(labels).split(",")
    clips = Clip.objects.filter(review_status=ReviewStatus.VERIFIED, action__isnull=False).select_related(
        "action", "game"
    )
    if model_version is not None:
        clips = clips.filter(model_version=model_version)
    clips = list(clips.order_by("pk"))
    missing = [name for name in wanted if not any(c.action.name == name for c in clips)]
    if missing:
        raise LearningError(f"no verified clip labelled {', '.join(missing)}: verify or relabel some clips first")
    has_negatives = any(c.action.name not in wanted for c in clips)
    classes = [*wanted, BACKGROUND] if has_negatives else wanted
    index = {name: i for i, name in enumerate(wanted)}
    y = np.array([index.get(c.action.name, len(wanted)) for c in clips], dtype=np.int64)
    return Examples(clips, y, classes)


# --- few-shot heads ----------------------------------------------------------------------------


def _window_embeddings(clip: Clip) -> np.ndarray:
    """``(n, D)`` float32 embeddings of the analysis windows centred inside the clip (empty without the artifact)."""
    path = existing_analysis(clip.game_id, clip.model_version)
    if path is None:
        return np.zeros((0, len(clip.embedding_vector())), dtype=np.float32)
    analysis = Analysis.load(path)
    centres = analysis.spans_s.mean(axis=1)
    inside = (centres >= clip.start_s) & (centres < clip.end_s)
    return analysis.features[inside].astype(np.float32)


def _embedding_rows(examples: Examples, with_windows: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x (N, D), y (N,), groups (N,) clip pks, is_clip (N,) bool)``: clip embeddings first, then windows."""
    xs, ys, groups, is_clip = [], [], [], []
    for clip, label in zip(examples.clips, examples.y, strict=True):
        rows = [clip.embedding_vector()[None]]
        if with_windows:
            rows.append(_window_embeddings(clip))
        block = np.concatenate(rows)
        xs.append(block)
        ys.append(np.full(len(block), label))
        groups.append(np.full(len(block), clip.pk))
        is_clip.append(np.arange(len(block)) == 0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups), np.concatenate(is_clip)


def train_head_model(labels: Sequence[str], *, user: AbstractBaseUser | None = None) -> HighlightModel:
    """Train, register and activate a few-shot head for ``labels`` on the configured action model's embeddings.

    Raises:
        LearningError: a label has no verified clip, or there are fewer than 2 verified clips.
    """
    parent = runtime.model_weights().version
    examples = verified_examples(labels, model_version=parent)
    if len(examples.clips) < 2:
        raise LearningError("a head needs at least 2 verified clips")
    x, y, groups, is_clip = _embedding_rows(examples, settings.HL_HEAD_WINDOWS)
    hidden, epochs, k = settings.HL_HEAD_HIDDEN, settings.HL_HEAD_EPOCHS, len(examples.classes)
    held_out = cross_val_proba(x, y, groups, k, hidden=hidden, epochs=epochs)
    metrics = evaluate_predictions(y[is_clip], held_out[is_clip], examples.classes).to_dict()
    head, losses = train_head(x, y, k, hidden=hidden, epochs=epochs)
    params = {"in_features": int(x.shape[1]), "hidden": hidden, "epochs": epochs, "rows": len(y)}
    metrics.update(split="cross-validation, clips held out", final_loss=round(losses[-1], 4))
    return register(examples, HighlightModel.Kind.HEAD, head, parent=parent, params=params, metrics=metrics, user=user)


# --- CRNN ---------------------------------------------------------------------------------------


def crnn_short_side(input_size: int) -> int:
    """Decoded short side for a CRNN crop, keeping ImageNet's 256/224 resize-to-crop ratio."""
    return round(input_size * 256 / 224)


def crnn_inputs(clips: Sequence[Clip], params: dict, *, two_stream: bool) -> torch.Tensor:
    """Decode ``params["frames"]`` frames per clip and build the CRNN input ``(N, C, T, crop, crop)``.

    Raises:
        indexer.errors.CorruptVideoError: a clip's video cannot be decoded.
    """
    size = params["input_size"]
    decoded = np.stack(
        [
            span_frames(
                Path(c.game.source_path),
                width=c.game.width or size,
                height=c.game.height or size,
                start_s=c.start_s,
                end_s=c.end_s,
                count=params["frames"],
                short_side=crnn_short_side(size),
            )
            for c in clips
        ]
    )
    return clip_tensor(decoded, MobileNetV2Weights.DEFAULT.value, crop_size=size, with_flow=two_stream)


def build_crnn(num_classes: int, params: dict, *, backbone: MobileNetV2, two_stream: bool) -> CRNN | TwoStreamCRNN:
    """A CRNN (or two-stream CRNN) on ``backbone`` with the registry's hyperparameters."""

    def stream(net: MobileNetV2) -> CRNN:
        return CRNN(net, num_classes, hidden_size=params["hidden"], trainable_blocks=params["trainable_blocks"])

    rgb = stream(backbone)
    return TwoStreamCRNN(rgb, stream(flow_backbone(backbone))) if two_stream else rgb


def train_crnn_model(
    labels: Sequence[str], *, two_stream: bool = False, user: AbstractBaseUser | None = None
) -> HighlightModel:
    """Fine-tune, register and activate a CRNN for ``labels`` from the ImageNet MobileNetV2.

    Raises:
        LearningError: a label has no verified clip, fewer than 2 verified clips, or the backbone weights
            are missing (run ``manage.py fetch_weights``).
        indexer.errors.CorruptVideoError: a training clip's video cannot be decoded.
    """
    examples = verified_examples(labels)
    if len(examples.clips) < 2:
        raise LearningError("a CRNN needs at least 2 verified clips")
    spec = MobileNetV2Weights.DEFAULT.value
    try:
        backbone = mobilenet_v2(weights=spec, weights_dir=settings.HL_WEIGHTS_DIR)
    except WeightsError as exc:
        raise LearningError(str(exc)) from exc
    params = {
        "frames": settings.HL_CRNN_FRAMES,
        "input_size": settings.HL_CRNN_INPUT_SIZE,
        "hidden": 256,
        "trainable_blocks": settings.HL_CRNN_TRAINABLE_BLOCKS,
        "epochs": settings.HL_CRNN_EPOCHS,
    }
    torch.manual_seed(0)
    model = build_crnn(len(examples.classes), params, backbone=backbone, two_stream=two_stream)
    x = crnn_inputs(examples.clips, params, two_stream=two_stream)
    y = torch.from_numpy(examples.y)
    losses = fine_tune(model, x, y, num_classes=len(examples.classes), epochs=params["epochs"])
    probs = _crnn_proba(model.eval(), x)
    metrics = evaluate_predictions(examples.y, probs, examples.classes).to_dict()
    metrics.update(split="training clips", losses=[round(v, 4) for v in losses])
    kind = HighlightModel.Kind.TWO_STREAM if two_stream else HighlightModel.Kind.CRNN
    return register(examples, kind, model, parent=spec.version, params=params, metrics=metrics, user=user)


@torch.inference_mode()
def _crnn_proba(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """``(N, K)`` float32 class probabilities of a CRNN on ``x``, on the configured device and precision."""
    place = runtime.placement()
    model.to(place.device)
    parts = []
    for part in x.split(batch_size):
        with place.autocast():
            logits = model(part.to(place.device))[0]
        parts.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(parts).numpy()


def train_model(labels: Sequence[str], kind: str, *, user: AbstractBaseUser | None = None) -> HighlightModel:
    """Train, register and activate a model of ``kind`` (a ``HighlightModel.Kind`` value) for ``labels``.

    Raises:
        LearningError: see :func:`train_head_model` and :func:`train_crnn_model`; or an unknown kind.
    """
    if kind == HighlightModel.Kind.HEAD:
        return train_head_model(labels, user=user)
    if kind in (HighlightModel.Kind.CRNN, HighlightModel.Kind.TWO_STREAM):
        return train_crnn_model(labels, two_stream=kind == HighlightModel.Kind.TWO_STREAM, user=user)
    raise LearningError(f"unknown model kind {kind!r}: use {', '.join(HighlightModel.Kind.values)}")


# --- registry -----------------------------------------------------------------------------------


def register(
    examples: Examples,
    kind: str,
    network: torch.nn.Module,
    *,
    parent: str,
    params: dict,
    metrics: dict,
    user: AbstractBaseUser | None = None,
) -> HighlightModel:
    """Save a trained network as the next version of its label set and make it the active one.

    The weights file ``HL_MODELS_DIR/<label set>/v<N>-<kind>.pt`` holds ``{"state_dict": ...}`` only
    (read back with ``torch.load(weights_only=True)``); classes and hyperparameters live in the row.
    """
    key = ",".join(name for name in examples.classes if name != BACKGROUND)
    with transaction.atomic():
        latest = HighlightModel.objects.select_for_update().filter(label_set=key).aggregate(v=Max("version"))["v"]
        version = (latest or 0) + 1
        relpath = Path(_slug(key)) / f"v{version}-{kind}.pt"
        dest = Path(settings.HL_MODELS_DIR) / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        torch.save({"state_dict": network.state_dict()}, tmp)
        tmp.replace(dest)
        model = HighlightModel.objects.create(
            label_set=key,
            classes=examples.classes,
            kind=kind,
            version=version,
            parent=parent,
            weights_path=str(relpath),
            sha256=sha256_file(dest),
            params=params,
            metrics=metrics,
            created_by=user,
        )
        model.training_clips.set(examples.clips)
        activate(model)
    logger.info("registered %s", model)
    return model


def _slug(label_set: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in label_set.lower())[:80] or "labels"


def activate(model: HighlightModel) -> HighlightModel:
    """Make ``model`` the active version of its label set; a head is then applied to the archive (on commit).

    A CRNN's labels come from :func:`request_crnn_labelling` on the games an operator selects.
    """
    from highlights import tasks

    with transaction.atomic():
        HighlightModel.objects.filter(label_set=model.label_set, is_active=True).exclude(pk=model.pk).update(
            is_active=False
        )
        HighlightModel.objects.filter(pk=model.pk).update(is_active=True)
        model.is_active = True
        if model.kind == HighlightModel.Kind.HEAD:
            transaction.on_commit(partial(tasks.apply_highlight_head.delay, model.pk))
    return model


def rollback(label_set: str) -> HighlightModel:
    """Re-activate the version before the active one of a label set (its predictions are still stored).

    Raises:
        LearningError: the label set has no active version, or no older one.
    """
    key = label_set_key(label_set.split(","))
    active = HighlightModel.objects.filter(label_set=key, is_active=True).first()
    if active is None:
        raise LearningError(f"no active model for {key}")
    previous = HighlightModel.objects.filter(label_set=key, version__lt=active.version).order_by("-version").first()
    if previous is None:
        raise LearningError(f"{active} is the first version of {key}: nothing to roll back to")
    return activate(previous)


_lock = threading.Lock()
_networks: dict[tuple[int, str], torch.nn.Module] = {}


def load_network(model: HighlightModel) -> torch.nn.Module:
    """The registered network in ``eval()`` mode, read once per process and checked against its sha256.

    Raises:
        LearningError: the weights file is missing, altered or does not fit the registered shapes.
    """
    with _lock:
        key = (model.pk, model.sha256)
        if key not in _networks:
            path = Path(settings.HL_MODELS_DIR) / model.weights_path
            if not path.is_file() or sha256_file(path) != model.sha256:
                raise LearningError(f"{path} is missing or does not match the registered sha256 of {model}")
            params, k = model.params, len(model.classes)
            if model.kind == HighlightModel.Kind.HEAD:
                network: torch.nn.Module = EmbeddingHead(params["in_features"], k, hidden=params["hidden"])
            else:
                two_stream = model.kind == HighlightModel.Kind.TWO_STREAM
                network = build_crnn(k, params, backbone=MobileNetV2(), two_stream=two_stream)
            try:
                network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
            except (RuntimeError, KeyError) as exc:
                raise LearningError(f"{path}: {exc}") from exc
            _networks[key] = network.eval()
        return _networks[key]


# --- applying models to the archive ------------------------------------------------------------------


def _write_labels(model: HighlightModel, clip_ids: Sequence[int], probs: np.ndarray) -> int:
    """Replace the model's labels of ``clip_ids`` by each clip's top class (none when it is ``(other)``)."""
    top = probs.argmax(axis=1)
    rows = [
        LearnedLabel(clip_id=pk, model=model, label=model.classes[i], probability=float(probs[n, i]))
        for n, (pk, i) in enumerate(zip(clip_ids, top, strict=True))
        if model.classes[i] != BACKGROUND
    ]
    with transaction.atomic():
        LearnedLabel.objects.filter(model=model, clip_id__in=clip_ids).delete()
        LearnedLabel.objects.bulk_create(rows)
    return len(rows)


def apply_head(model_id: int) -> int:
    """Score every stored clip embedding of the head's parent model and store the predicted labels.

    Returns:
        Clips given one of the labels (the others fell in ``(other)``).

    Raises:
        LearningError: the model is not a head, or its weights file is missing or altered.
    """
    model = HighlightModel.objects.get(pk=model_id)
    if model.kind != HighlightModel.Kind.HEAD:
        raise LearningError(f"{model} is not a head: apply it to games with request_crnn_labelling()")
    labelled = _score_clips(model, Clip.objects.all())
    logger.info("%s labelled %d clip(s)", model, labelled)
    return labelled


def apply_active_heads(game_id: int) -> int:
    """Label one game's clips with every active head (the pipeline's clips step calls this; idempotent).

    Returns:
        Clips given a label, summed over the heads.
    """
    heads = HighlightModel.objects.filter(is_active=True, kind=HighlightModel.Kind.HEAD)
    return sum(_score_clips(model, Clip.objects.filter(game_id=game_id)) for model in heads)


def _score_clips(model: HighlightModel, clips: QuerySet[Clip]) -> int:
    """Score ``clips`` of the head's parent model in batches of ``APPLY_BATCH`` embeddings; store the labels."""
    rows = clips.filter(model_version=model.parent).order_by("pk").values_list("pk", "embedding")
    if not rows.exists():
        return 0
    head = load_network(model)
    labelled, ids, vectors = 0, [], []
    for pk, embedding in rows.iterator(chunk_size=APPLY_BATCH):
        ids.append(pk)
        vectors.append(np.frombuffer(bytes(embedding), dtype=np.float32))
        if len(ids) == APPLY_BATCH:
            labelled += _write_labels(model, ids, predict_proba(head, np.stack(vectors), placement=runtime.placement()))
            ids, vectors = [], []
    if ids:
        labelled += _write_labels(model, ids, predict_proba(head, np.stack(vectors), placement=runtime.placement()))
    return labelled


def label_game_with_crnn(model_id: int, game_id: int) -> int:
    """Run a registered CRNN over every clip of a game (decoding each clip's frames) and store the labels.

    Returns:
        Clips given one of the labels.

    Raises:
        LearningError: the model is a head, or its weights file is missing or altered.
        indexer.errors.CorruptVideoError: the game's video cannot be decoded.
    """
    model = HighlightModel.objects.get(pk=model_id)
    if model.kind == HighlightModel.Kind.HEAD:
        raise LearningError(f"{model} is a head: it is applied to the whole archive by apply_head()")
    network = load_network(model)
    clips = list(Clip.objects.filter(game_id=game_id).select_related("game").order_by("start_ms"))
    if not clips:
        return 0
    x = crnn_inputs(clips, model.params, two_stream=model.kind == HighlightModel.Kind.TWO_STREAM)
    return _write_labels(model, [c.pk for c in clips], _crnn_proba(network, x))


def request_crnn_labelling(model: HighlightModel, games: Iterable[Game]) -> list[int]:
    """Queue one Celery job per game that labels its clips with a CRNN (dispatched on commit).

    Returns:
        The game primary keys queued.
    """
    from highlights import tasks

    game_ids = [g.pk for g in games]
    for game_id in game_ids:
        transaction.on_commit(partial(tasks.label_game_with_crnn.delay, model.pk, game_id))
    return game_ids


# --- evaluation -------------------------------------------------------------------------------------


def stored_evaluation(model: HighlightModel) -> Evaluation:
    """The registered metrics as an :class:`Evaluation` for ``highlights.plots.confusion_matrix_png``.

    Per-row scores are not stored, so ``y_true`` and ``scores`` are empty (no precision-recall curves).

    Raises:
        LearningError: the model's metrics hold no confusion matrix.
    """
    m = model.metrics
    if "confusion" not in m or "labels" not in m:
        raise LearningError(f"{model} has no stored confusion matrix")
    k = len(m["labels"])
    return Evaluation(
        labels=tuple(m["labels"]),
        classes=tuple(ClassReport(**c) for c in m.get("classes", [])),
        top1=float(m.get("top1", 0.0)),
        mean_ap=float(m.get("mAP", 0.0)),
        macro_f1=float(m.get("macro_f1", 0.0)),
        confusion=np.array(m["confusion"], dtype=np.int64).reshape(k, k),
        count=int(m.get("count", 0)),
        y_true=np.zeros(0, dtype=np.int64),
        scores=np.zeros((0, k), dtype=np.float32),
    )


@dataclass(frozen=True)
class ManifestRow:
    """One evaluation clip: a video, a span in seconds and its true label."""

    path: Path
    start_s: float
    end_s: float
    label: str


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a CSV with the header ``path,start_s,end_s,label`` (relative paths from the manifest's folder).

    Raises:
        LearningError: the file is missing, lacks a column, or a row has an unusable value.
    """
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "start_s", "end_s", "label"} - set(reader.fieldnames or [])
            if missing:
                raise LearningError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rows = [
                ManifestRow(
                    (path.parent / r["path"]).resolve(), float(r["start_s"]), float(r["end_s"]), r["label"].strip()
                )
                for r in reader
            ]
    except OSError as exc:
        raise LearningError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise LearningError(f"{path}: {exc}") from exc
    if not rows:
        raise LearningError(f"{path} has no rows")
    return rows


def _action_model_windows(row: ManifestRow, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The configured action model on the span cut into non-overlapping windows: ``(probs (K,), embedding (D,))``."""
    recognizer = runtime.action_recognizer()
    window = settings.HL_WINDOW_FRAMES
    windows = max(1, round((row.end_s - row.start_s) * settings.HL_SAMPLE_FPS / window))
    frames = span_frames(
        row.path,
        width=width,
        height=height,
        start_s=row.start_s,
        end_s=row.end_s,
        count=windows * window,
        short_side=runtime.decode_short_side(),
    )
    probs, embeddings = recognizer(frames.reshape(windows, window, *frames.shape[1:]))
    embedding = embeddings.mean(axis=0)
    return probs.mean(axis=0), embedding / max(float(np.linalg.norm(embedding)), 1e-12)


def evaluate_manifest(rows: Sequence[ManifestRow], model: HighlightModel | None = None) -> Evaluation:
    """Evaluate a registered model, or the configured action model, on labelled spans of videos.

    Args:
        rows: the evaluation clips.
        model: a registered model whose classes include every row's label; None evaluates the action
            model itself (labels must be its class names, e.g. Kinetics-400's ``"playing tennis"``),
            scored over the manifest's labels only.

    Raises:
        LearningError: a row's label is not one of the model's classes, or a head's parent is not the
            configured action model.
        indexer.errors.CorruptVideoError: a video cannot be decoded.
    """
    from indexer.stages.probe import probe_video

    classes = list(model.classes) if model else sorted({r.label for r in rows})
    known = set(classes) & (set(model.classes) if model else set(runtime.model_weights().categories))
    unknown = sorted({r.label for r in rows} - known)
    if unknown:
        raise LearningError(f"label(s) {', '.join(unknown)} are not classes of {model or 'the action model'}")
    if model is not None and model.kind == HighlightModel.Kind.HEAD and model.parent != runtime.model_weights().version:
        raise LearningError(f"{model} reads {model.parent} embeddings; set HL_ACTION_MODEL to that model")
    y = np.array([classes.index(r.label) for r in rows])
    if model is not None and model.kind != HighlightModel.Kind.HEAD:
        network = load_network(model)
        params = model.params
        two_stream = model.kind == HighlightModel.Kind.TWO_STREAM
        size = params["input_size"]
        parts = []
        for r in rows:
            probe = probe_video(r.path)
            frames = span_frames(
                r.path,
                width=probe.width,
                height=probe.height,
                start_s=r.start_s,
                end_s=r.end_s,
                count=params["frames"],
                short_side=crnn_short_side(size),
            )
            x = clip_tensor(frames[None], MobileNetV2Weights.DEFAULT.value, crop_size=size, with_flow=two_stream)
            parts.append(_crnn_proba(network, x))
        return evaluate_predictions(y, np.concatenate(parts), classes)
    outputs = []
    for r in rows:
        probe = probe_video(r.path)
        outputs.append(_action_model_windows(r, probe.width, probe.height))
    if model is not None:
        probs = predict_proba(load_network(model), np.stack([e for _, e in outputs]), placement=runtime.placement())
        return evaluate_predictions(y, probs, classes)
    columns = [runtime.model_weights().categories.index(c) for c in classes]
    scores = np.stack([p[columns] for p, _ in outputs])
    return evaluate_predictions(y, scores / scores.sum(axis=1, keepdims=True), classes)
