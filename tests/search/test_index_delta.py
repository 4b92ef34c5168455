"""Versions as base + delta + removed ids: a game's write leaves the base alone, results equal a rebuilt index.

Real FAISS files in a temporary folder; the fold size is lowered so a few writes cross it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np
import pytest

import search.index
from search.index import Fold, Training, VectorIndex

DIM = 16
EXHAUSTIVE = Training("IVF16,Flat", min_rows=500, growth=100.0, nprobe=16, sample=1000)  # every list: exact


def _vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = rng.standard_normal((20, DIM)).astype(np.float32)
    v = centres[rng.integers(0, 20, n)] + 0.4 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _rebuilt(folder: Path, rows: dict[int, np.ndarray], training: Training | None) -> VectorIndex:
    """The one-snapshot index of ``rows`` (trained as ``training`` says), to compare against."""
    reference = VectorIndex(folder / "reference.faiss", DIM, training=training)
    ids = np.array(sorted(rows), np.int64)
    matrix = np.stack([rows[i] for i in ids.tolist()])
    reference.rebuild([(ids, matrix)], matrix if training else None)
    return reference


def _same_results(index: VectorIndex, reference: VectorIndex, rows: dict[int, np.ndarray], queries: np.ndarray) -> None:
    assert sorted(index.load().ids().tolist()) == sorted(rows)
    assert index.load().ntotal == len(rows)
    live = sorted(rows)
    allowed = set(live[::4]) | {-5, 10**6}  # ids never stored are simply never returned
    for q, query in enumerate(queries):
        exclude = {live[q % len(live)]}
        for kwargs in ({}, {"exclude": exclude}, {"allowed": allowed, "exclude": exclude}):
            got = index.search(query, 10, **kwargs)
            want = reference.search(query, 10, **kwargs)
            assert [i for i, _ in got] == [i for i, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


@pytest.mark.parametrize("training", [None, EXHAUSTIVE], ids=["exact", "trained"])
def test_after_adds_replacements_removals_folds_and_a_retraining_results_equal_a_rebuilt_index(
    tmp_path: Path, training: Training | None
) -> None:
    rng = np.random.default_rng(20)
    queries = _vectors(rng, 12)
    index = VectorIndex(tmp_path / "clips.faiss", DIM, keep=1, training=training, fold=Fold(rows=150, share=1.0))
    rows = {i: v for i, v in enumerate(_vectors(rng, 600), start=1)}
    if training:
        matrix = np.stack(list(rows.values()))
        index.rebuild([(np.array(list(rows), np.int64), matrix)], matrix)
    else:
        index.sync(dict(rows), ())
    next_id, kinds, retrained_at = 601, [], 0
    for game in range(9):
        if game == 5:  # a retraining (or an exact rebuild) from the rows, then writes resume on the new base
            ids = np.array(sorted(rows), np.int64)
            matrix = np.stack([rows[i] for i in ids.tolist()])
            index.rebuild([(ids, matrix)], matrix if training else None)
            retrained_at = len(rows) if training else 0
        live = sorted(rows)
        deleted = rng.choice(live, 10, replace=False).tolist()  # a deleted game's clips
        for gone in deleted:
            del rows[gone]
        wanted = {int(i): v for i, v in zip(rng.choice(sorted(rows), 5, replace=False), _vectors(rng, 5), strict=True)}
        wanted |= {next_id + j: v for j, v in enumerate(_vectors(rng, 40))}  # replaced vectors and a new game's
        next_id += 40
        rows |= wanted
        before = index.load()
        assert index.sync(wanted, deleted) == (45, 15)  # 10 deleted + 5 replaced
        after = index.load()
        kinds.append("delta" if after.base_version == before.base_version else "fold")
        _same_results(index, _rebuilt(tmp_path / f"ref{game}", rows, training), rows, queries)
    assert "delta" in kinds and "fold" in kinds  # both paths ran: 45 rows a game pass 150 on the fourth
    assert index.trained_rows() == retrained_at  # folds keep the rows the base was trained at


def test_a_delta_write_reuses_the_base_file_and_the_readers_mapped_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(21)
    vectors = _vectors(rng, 1300)
    writer = VectorIndex(tmp_path / "clips.faiss", DIM, training=EXHAUSTIVE, fold=Fold(rows=1000, share=1.0))
    reader = VectorIndex(tmp_path / "clips.faiss", DIM, training=EXHAUSTIVE)
    writer.rebuild([(np.arange(1, 1201), vectors[:1200])], vectors[:1200])
    base_file = writer.snapshot_path(1)
    inode, base = base_file.stat().st_ino, reader.load().base
    opened: list[tuple[str, int]] = []
    read_index = faiss.read_index

    def recording(path: str, *flags: int) -> faiss.Index:
        opened.append((Path(path).name, flags[0] if flags else 0))
        return read_index(path, *flags)

    monkeypatch.setattr(faiss, "read_index", recording)
    for game in range(3):
        ids = range(2000 + 30 * game, 2030 + 30 * game)
        writer.sync(dict(zip(ids, vectors[1200 + 30 * game :], strict=False)), {1, 2})
    assert writer.version() == 4 and writer.load().base_version == 1
    assert [name for name, flags in opened if flags == 0] == [
        "clips.v00000002.delta.faiss",
        "clips.v00000003.delta.faiss",
    ]
    mapped = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY  # the writer maps the base once, for its ids only
    assert [(name, flags) for name, flags in opened if "delta" not in name] == [("clips.v00000001.faiss", mapped)]
    assert base_file.stat().st_ino == inode and sorted(p.name for p in tmp_path.glob("clips.v*.faiss")) == [
        "clips.v00000001.faiss",
        *[f"clips.v0000000{v}.delta.faiss" for v in (2, 3, 4)],
    ]
    snapshot = reader.load()
    assert snapshot.version == 4 and snapshot.base is base  # the new delta did not re-map the base
    assert snapshot.removed.tolist() == [1, 2] and snapshot.delta.ntotal == 90
    assert reader.search(vectors[1200 + 65], 1)[0][0] == 2065  # a delta row
    assert 1 not in [i for i, _ in reader.search(vectors[0], 5)]  # a removed base row


def test_a_reader_holding_a_version_keeps_searching_it_while_the_writer_publishes_and_prunes(tmp_path: Path) -> None:
    rng = np.random.default_rng(22)
    vectors = _vectors(rng, 400)
    writer = VectorIndex(tmp_path / "clips.faiss", DIM, keep=0, fold=Fold(rows=50, share=1.0))
    writer.sync({i: vectors[i] for i in range(200)}, ())
    writer.sync({i: vectors[i] for i in range(200, 220)}, range(10))
    held = VectorIndex(tmp_path / "clips.faiss", DIM).load()
    assert (held.version, held.base_version) == (2, 1)
    before = [held.search(vectors[q], 5) for q in range(0, 220, 20)]
    for game in range(4):  # deltas, then a fold (50 rows passed): every file of version 2 is pruned
        first = 220 + 20 * game
        writer.sync({i: vectors[i] for i in range(first, first + 20)}, range(10, 20))
    assert not writer.delta_path(2).exists() and not writer.snapshot_path(1).exists()
    assert [held.search(vectors[q], 5) for q in range(0, 220, 20)] == before
    assert sorted(held.ids().tolist()) == list(range(10, 220))
    assert sorted(VectorIndex(tmp_path / "clips.faiss", DIM).load().ids().tolist()) == list(range(20, 300))


@contextmanager
def _crash_on(monkeypatch: pytest.MonkeyPatch, target: Path) -> Iterator[None]:
    """``atomic_write`` raises before renaming onto ``target``, as a writer killed at that moment."""
    real = search.index.atomic_write

    @contextmanager
    def crashing(dest: Path, **kwargs: int) -> Iterator[Path]:
        with real(dest, **kwargs) as tmp:
            yield tmp
            if Path(dest) == target:
                raise OSError("killed")

    monkeypatch.setattr(search.index, "atomic_write", crashing)
    yield
    monkeypatch.setattr(search.index, "atomic_write", real)


@pytest.mark.parametrize("fold_rows", [1000, 0], ids=["delta", "fold"])
def test_a_crash_before_the_pointer_leaves_the_previous_version_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold_rows: int
) -> None:
    rng = np.random.default_rng(23)
    vectors = _vectors(rng, 300)
    writer = VectorIndex(tmp_path / "clips.faiss", DIM, keep=0, fold=Fold(rows=1000, share=1.0))
    writer.sync({i: vectors[i] for i in range(100)}, ())
    writer.sync({i: vectors[i] for i in range(100, 150)}, ())  # version 2: a delta over base 1
    expected = writer.search(vectors[120], 3)
    writer.fold = Fold(rows=fold_rows, share=1.0)
    with _crash_on(monkeypatch, writer.version_path), pytest.raises(OSError, match="killed"):
        writer.sync({i: vectors[i] for i in range(150, 200)}, range(20))
    assert not list(tmp_path.glob("*.part*"))  # no temporary file is left, let alone read
    reader = VectorIndex(tmp_path / "clips.faiss", DIM)
    assert reader.version() == 2 and sorted(reader.load().ids().tolist()) == list(range(150))
    assert reader.search(vectors[120], 3) == expected
    writer.fold = Fold(rows=1000, share=1.0)  # the next write is a delta: the crashed write's files go
    writer.sync({i: vectors[i] for i in range(150, 160)}, ())
    assert not writer.snapshot_path(3).exists() and writer.load().base_version == 1
    assert sorted(VectorIndex(tmp_path / "clips.faiss", DIM).load().ids().tolist()) == list(range(160))


def test_a_pointer_written_before_deltas_reads_as_its_own_base(tmp_path: Path) -> None:
    rng = np.random.default_rng(24)
    vectors = _vectors(rng, 120)
    index = VectorIndex(tmp_path / "clips.faiss", DIM, fold=Fold(rows=1000, share=1.0))
    index.rebuild([(np.arange(100), vectors[:100])])
    (tmp_path / "clips.version").write_text("1 0\n")  # today's two-field pointer
    reader = VectorIndex(tmp_path / "clips.faiss", DIM)
    assert reader.load().base_version == 1 and reader.search(vectors[7], 1)[0][0] == 7
    index.sync({i: vectors[i] for i in range(100, 120)}, ())
    assert (tmp_path / "clips.version").read_text() == "2 0 1\n"
    assert reader.search(vectors[110], 1)[0][0] == 110 and reader.load().ntotal == 120


def test_a_first_write_with_no_rows_publishes_an_empty_base_that_later_writes_add_to(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "tracks.faiss", DIM)
    assert index.sync({}, ()) == (0, 0)  # a game without faces
    assert index.load().ntotal == 0 and index.search(np.ones(DIM, np.float32), 3) == []
    vectors = _vectors(np.random.default_rng(25), 5)
    index.sync(dict(enumerate(vectors)), ())
    assert sorted(VectorIndex(tmp_path / "tracks.faiss", DIM).load().ids().tolist()) == [0, 1, 2, 3, 4]
