"""Backfill folder walks: every file ffprobe reads as moving video, whatever its suffix; no probe for known suffixes."""

from __future__ import annotations

import shutil
from pathlib import Path
from unittest import mock

from django.test import override_settings

from highlights import backfill


def test_a_walk_takes_gifs_and_unknown_suffixes_ffprobe_reads_and_skips_the_rest(
    tmp_path: Path, animated_gif: Path, video_dir: Path
) -> None:
    (tmp_path / "2019").mkdir()
    shutil.copy(video_dir / "tennis_atp_clay_6s.mp4", tmp_path / "2019" / "clay.mp4")
    shutil.copy(animated_gif, tmp_path / "2019" / "nba.gif")
    shutil.copy(video_dir / "baseball_mlb_pitch_7s.mp4", tmp_path / "2019" / "pitch.vob-like")  # unknown suffix
    (tmp_path / "2019" / "notes.dat").write_text("a sidecar, not a video\n")
    (tmp_path / "2019" / "labels.csv").write_text("path\n")
    with (
        override_settings(HL_ARCHIVE_ROOTS=[tmp_path]),
        mock.patch.object(backfill, "is_video_file", wraps=backfill.is_video_file) as probed,
    ):
        found = [f.path.name for f in backfill.archive_files(tmp_path)]
    assert found == ["clay.mp4", "nba.gif", "pitch.vob-like"]
    assert sorted(Path(c.args[0]).name for c in probed.call_args_list) == ["notes.dat", "pitch.vob-like"]
