"""``python manage.py evaluate MANIFEST.csv [--model ID] [--plots DIR] [--json]``: P/R/F1, top-1, mAP, PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights import learning
from highlights.models import ActionClassifier
from highlights.plots import confusion_matrix_png, precision_recall_png
from indexer.errors import CorruptVideoError


class Command(BaseCommand):
    help = (
        "Evaluate a model on labelled spans listed in a CSV (path,start_s,end_s,label; relative paths from the "
        "manifest's folder): the given registered model, else the active one whose classes cover the labels, "
        "else the action model itself. Prints per-class precision/recall/F1, top-1 accuracy and mAP, and "
        "writes confusion_matrix.png and precision_recall.png."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--model", type=int, help="a registered ActionClassifier id")
        parser.add_argument("--plots", type=Path, help="folder for the PNGs (default HL_VAR_DIR/evaluations/NAME)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest: Path = options["manifest"]
        try:
            rows = learning.read_manifest(manifest)
            model = self._model(options["model"], {r.label for r in rows})
            evaluation = learning.evaluate_manifest(rows, model)
        except (learning.LearningError, CorruptVideoError, ActionClassifier.DoesNotExist) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        folder = options["plots"] or Path(settings.VAR_DIR) / "evaluations" / manifest.stem
        plots = [
            str(confusion_matrix_png(evaluation, folder / "confusion_matrix.png")),
            str(precision_recall_png(evaluation, folder / "precision_recall.png")),
        ]
        report = {"model": str(model) if model else "action model", **evaluation.to_dict(), "plots": plots}
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"{'class':<32} {'precision':>9} {'recall':>7} {'F1':>6} {'AP':>6} {'support':>7}")
        for c in evaluation.classes:
            ap = "-" if c.average_precision is None else f"{c.average_precision:.3f}"
            self.stdout.write(f"{c.label:<32} {c.precision:>9.3f} {c.recall:>7.3f} {c.f1:>6.3f} {ap:>6} {c.support:>7}")
        self.stdout.write(f"top-1 {evaluation.top1:.3f}  mAP {evaluation.mean_ap:.3f}  ({evaluation.count} clips)")
        self.stdout.write("plots: " + ", ".join(plots))

    @staticmethod
    def _model(model_id: int | None, labels: set[str]) -> ActionClassifier | None:
        if model_id is not None:
            return ActionClassifier.objects.get(pk=model_id)
        return next((m for m in ActionClassifier.objects.filter(is_active=True) if labels <= set(m.classes)), None)
