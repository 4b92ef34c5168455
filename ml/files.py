"""File helpers every layer uses: one way to write a file atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(dest: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``dest``; when the block succeeds, rename it onto ``dest``.

    The temporary name is unique per writer (``tempfile.mkstemp``: ``<name>.<random>.part<suffix>``,
    keeping ``dest``'s suffix so writers that pick a format by extension, such as ``np.savez``,
    OpenCV and ffmpeg, still do), so two writers of one file never write the same temporary file;
    ``os.replace`` makes the switch atomic, and readers see the old file or the new one, never a
    half-written one. On error the temporary file is removed and ``dest`` is left as it was.
    Parent folders are created.

    Args:
        dest: the file to write.
        mode: permission bits of the written file (``mkstemp`` alone would leave 0600).

    Yields:
        The temporary path to write (it exists, empty).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part" + dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
