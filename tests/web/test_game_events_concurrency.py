"""Two transactions adding events to one game at once both count in its ``GameEvents`` row (migration 0018's
advisory lock): on real PostgreSQL, with committed rows, as two workers would write them.

The module commits (``committed_env``) and deletes the game it made, its events and row with it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from django.db import connection, transaction

from highlights.models import Event, Game, GameEvents


def test_two_transactions_adding_events_to_one_game_both_count(committed_env: Path) -> None:
    game = Game.objects.create(sport="baseball", source_path="/concurrent.mp4", sha256="e" * 64)
    inserted, go = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            Event.objects.create(game_id=game.pk, type="run", source=Event.Source.GRAPHICS)
            inserted.set()
            go.wait(10)  # commits only once the second writer is waiting behind it
        connection.close()

    def second() -> None:
        with transaction.atomic():
            Event.objects.create(game_id=game.pk, type="home_run", source=Event.Source.GRAPHICS)
        connection.close()

    writers = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        writers[0].start()
        assert inserted.wait(10)
        writers[1].start()
        time.sleep(0.5)  # the second insert has started, before the first commits
        go.set()
        for writer in writers:
            writer.join(20)
        row = GameEvents.objects.get(game=game)
        assert (row.complete, row.types) == (False, ["HOME_RUN", "RUN"])
    finally:
        go.set()
        game.delete()
    assert not GameEvents.objects.filter(game_id=game.pk).exists()
