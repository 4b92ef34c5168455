"""``python manage.py classifiers list|rollback LABELS|activate ID|apply ID [--game ID ...] [--json]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from highlights import dispatch, learning
from highlights.models import ActionClassifier, Game


def _row(model: ActionClassifier) -> dict[str, Any]:
    return {
        "model_id": model.pk,
        "action_set": model.action_set,
        "version": model.version,
        "kind": model.kind,
        "active": model.is_active,
        "parent": model.parent,
        "top1": model.metrics.get("top1"),
        "mAP": model.metrics.get("mAP"),
        "created_at": model.created_at.isoformat(),
    }


class Command(BaseCommand):
    help = (
        "The registry of learned action classifiers: list versions, roll an action set back to its previous "
        "version, activate a version, or queue a CRNN over selected games."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "rollback", "activate", "apply"])
        parser.add_argument("target", nargs="?", help="rollback: the action set (L1,L2); activate/apply: model id")
        parser.add_argument("--game", type=int, action="append", default=[], help="apply: a game id (repeatable)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action, target = options["action"], options["target"]
        if action != "list" and not target:
            raise CommandError(f"{action} needs a target", returncode=2)
        try:
            models = self._run(action, target, options["game"])
        except (learning.LearningError, ActionClassifier.DoesNotExist, ValueError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        rows = [_row(m) for m in models]
        if options["json"]:
            self.stdout.write(json.dumps({"models": rows}))
            return
        for r in rows:
            mark = "*" if r["active"] else " "
            self.stdout.write(
                f"{mark} {r['model_id']:>4}  {r['action_set']:<40} v{r['version']:<3} {r['kind']:<10} "
                f"top-1 {r['top1']}  mAP {r['mAP']}"
            )

    def _run(self, action: str, target: str | None, game_ids: list[int]) -> list[ActionClassifier]:
        if action == "list":
            return list(ActionClassifier.objects.all())
        if action == "rollback":
            activation = learning.rollback(str(target))
            dispatch.send_labelling(activation.labelling)
            return [activation.model]
        model = ActionClassifier.objects.get(pk=int(str(target)))
        if action == "activate":
            dispatch.send_labelling(learning.activate(model).labelling)
            return [model]
        with transaction.atomic():
            if model.kind == ActionClassifier.Kind.HEAD:
                labelling = learning.activate(model).labelling  # a head is (re)applied to the whole archive
            else:
                games = Game.objects.filter(pk__in=game_ids)
                if not game_ids or games.count() != len(set(game_ids)):
                    raise learning.LearningError("apply a CRNN with --game ID for existing games")
                labelling = learning.request_crnn_labelling(model, games)
            dispatch.send_labelling(labelling)
        model.refresh_from_db()
        return [model]
