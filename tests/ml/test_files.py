"""One atomic-write helper: unique temporary names, rename on success, nothing left on failure."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ml.files import atomic_write


def test_two_writers_of_one_file_get_different_temporary_files_and_the_last_rename_wins(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "thumb.jpg"
    with atomic_write(dest) as first, atomic_write(dest) as second:
        assert first != second
        assert first.parent == dest.parent and first.suffix == ".jpg", "beside dest, keeping its suffix"
        first.write_bytes(b"first")
        second.write_bytes(b"second")
        assert not dest.exists(), "nothing is visible before the block ends"
    assert dest.read_bytes() == b"first"  # the outer block ends last
    assert sorted(p.name for p in dest.parent.iterdir()) == ["thumb.jpg"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    dest = tmp_path / "analysis.npz"
    dest.write_bytes(b"old")

    def write_half_then_die() -> None:
        with atomic_write(dest) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("encoder died")

    with pytest.raises(RuntimeError):
        write_half_then_die()
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.npz"]
