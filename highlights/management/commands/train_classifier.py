"""``python manage.py train_classifier --labels L1,L2 [--kind head|crnn|two_stream] [--json]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights import dispatch, learning
from highlights.models import ActionClassifier
from indexer.errors import CorruptVideoError


class Command(BaseCommand):
    help = (
        "Train a model for editors' labels from verified clips, register it as the next version of the "
        "action set and activate it (a head is applied to every stored clip embedding at once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--labels", required=True, help="comma-separated action label names")
        parser.add_argument("--kind", choices=ActionClassifier.Kind.values, default=ActionClassifier.Kind.HEAD)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            activation = learning.train_model(options["labels"].split(","), options["kind"])
        except (learning.LearningError, CorruptVideoError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        dispatch.send_labelling(activation.labelling)
        model = activation.model
        report = {
            "model_id": model.pk,
            "action_set": model.action_set,
            "kind": model.kind,
            "version": model.version,
            "parent": model.parent,
            "classes": model.classes,
            "training_clips": model.training_clips.count(),
            "labelled_clips": model.predictions.count(),
            "metrics": model.metrics,
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        metrics = model.metrics
        self.stdout.write(
            f"{model} trained on {report['training_clips']} clip(s): top-1 {metrics['top1']:.3f}, "
            f"mAP {metrics['mAP']:.3f}, macro F1 {metrics['macro_f1']:.3f} ({metrics['split']}); "
            f"{report['labelled_clips']} clip(s) labelled"
        )
