"""FAISS index with database ids: sync, search, atomic snapshots, reload on change, training, filtered search."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from search.index import Training, VectorIndex


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_sync_adds_database_ids_and_search_returns_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 50, 16)
    ids = list(range(1000, 1050))
    index = VectorIndex(tmp_path / "clips.faiss", 16)
    assert index.sync(dict(zip(ids, vectors, strict=True)), ()) == (50, 0)
    assert sorted(index.load().ids().tolist()) == ids
    hits = index.search(vectors[7], 3)
    assert hits[0][0] == 1007 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert 1007 not in [i for i, _ in index.search(vectors[7], 3, exclude={1007})]


def test_sync_replaces_reinserted_ids_and_drops_removed_ids(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = _unit(rng, 10, 8)
    index = VectorIndex(tmp_path / "clips.faiss", 8)
    index.sync({i: vectors[i] for i in range(10)}, ())
    added, removed = index.sync({3: vectors[9]}, removed={5, 6, 7, 8, 9, 42})  # 42 never stored: ignored
    assert (added, removed) == (1, 6)  # 5..9 gone, old 3 replaced
    assert sorted(index.load().ids().tolist()) == [0, 1, 2, 3, 4]
    assert index.search(vectors[9], 1)[0][0] == 3


def test_a_second_process_view_reloads_the_new_snapshot_and_no_temp_file_remains(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    writer = VectorIndex(tmp_path / "clips.faiss", 8)
    reader = VectorIndex(tmp_path / "clips.faiss", 8)
    assert reader.search(_unit(rng, 1, 8)[0], 5) == []
    writer.sync({1: _unit(rng, 1, 8)[0]}, ())
    assert reader.load().ids().tolist() == [1]
    writer.sync({2: _unit(rng, 1, 8)[0]}, ())
    assert sorted(reader.load().ids().tolist()) == [1, 2]
    assert (reader.version(), writer.version()) == (2, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clips.faiss",
        "clips.v00000001.faiss",
        "clips.v00000002.faiss",
        "clips.version",
    ]
    assert (tmp_path / "clips.version").read_text() == "2 0 2\n"  # version 2, exact, its own base (small: folded)


def test_a_snapshot_of_another_dimension_is_refused(tmp_path: Path) -> None:
    VectorIndex(tmp_path / "clips.faiss", 8).sync({1: np.ones(8, np.float32)}, ())
    with pytest.raises(ValueError, match="8-d"):
        VectorIndex(tmp_path / "clips.faiss", 16).load()


def test_versions_increase_old_snapshots_are_pruned_and_rebuild_replaces_everything(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(tmp_path / "clips.faiss", 8, keep=1)
    for i in range(4):
        index.sync({i: _unit(rng, 1, 8)[0]}, ())
    assert index.version() == 4
    assert sorted(p.name for p in tmp_path.glob("clips.v*.faiss")) == ["clips.v00000003.faiss", "clips.v00000004.faiss"]
    assert (tmp_path / "clips.faiss").read_bytes() == (tmp_path / "clips.v00000004.faiss").read_bytes()
    assert index.rebuild([(np.array([7]), _unit(rng, 1, 8))]) == 5
    assert VectorIndex(tmp_path / "clips.faiss", 8).load().ids().tolist() == [7]


def _clustered(rng: np.random.Generator, n: int, dim: int, centres: int = 20) -> np.ndarray:
    means = _unit(rng, centres, dim)
    v = means[rng.integers(0, centres, n)] + 0.3 * _unit(rng, n, dim)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _batches(vectors: np.ndarray, first_id: int = 1, size: int = 700) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (np.arange(first_id + s, first_id + s + len(vectors[s : s + size])), vectors[s : s + size])
        for s in range(0, len(vectors), size)
    ]


TRAINING = Training("IVF16,Flat", min_rows=1000, growth=2.0, nprobe=4, sample=1000)


def test_the_index_stays_exact_below_the_training_size_and_retrains_when_it_grows(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "clips.faiss", 16, training=TRAINING)
    assert not index.needs_training(999) and index.needs_training(1000)
    vectors = _clustered(np.random.default_rng(4), 2100, 16)
    index.rebuild(_batches(vectors[:999]), None)
    assert isinstance(index.load().base, faiss.IndexIDMap2) and index.trained_rows() == 0
    index.rebuild(_batches(vectors[:1200]), vectors[:1000])
    loaded = index.load()
    assert faiss.extract_index_ivf(loaded.base).nlist == 16 and index.trained_rows() == 1200
    assert sorted(loaded.ids().tolist()) == list(range(1, 1201))
    assert not index.needs_training(2399) and index.needs_training(2400)  # growth 2.0 from 1200 rows
    index.sync({5000: vectors[2000]}, removed={1})  # incremental writes stay trained
    assert index.trained_rows() == 1200
    assert sorted(index.load().ids().tolist()) == [*range(2, 1201), 5000]
    assert index.search(vectors[2000], 1)[0][0] == 5000


def test_a_trained_snapshot_is_memory_mapped_read_only(tmp_path: Path) -> None:
    vectors = _clustered(np.random.default_rng(5), 1500, 16)
    index = VectorIndex(tmp_path / "clips.faiss", 16, training=TRAINING)
    index.rebuild(_batches(vectors), vectors)
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index.load().base).invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists)  # pages of the snapshot file, shared by every reader
    assert lists.read_only


@pytest.mark.parametrize("training", [None, TRAINING], ids=["exact", "ivf"])
def test_filtered_search_returns_the_nearest_allowed_ids(tmp_path: Path, training: Training | None) -> None:
    rng = np.random.default_rng(6)
    vectors = _clustered(rng, 3000, 16)
    index = VectorIndex(tmp_path / "clips.faiss", 16, training=training)
    index.rebuild(_batches(vectors), vectors if training else None)
    ids = np.arange(1, 3001)
    for allowed in (set(range(1, 3001, 3)), set(rng.choice(ids, 12, replace=False).tolist())):
        for q in range(0, 3000, 97):
            eligible = np.array(sorted(allowed - {q + 1}))
            exact = eligible[np.argsort(-(vectors[eligible - 1] @ vectors[q]))[:10]]
            hits = [pk for pk, _ in index.search(vectors[q], 10, exclude={q + 1}, allowed=allowed)]
            assert set(hits) <= allowed - {q + 1} and len(hits) == 10
            assert len(set(hits) & set(exact.tolist())) >= 9  # recall@10 kept under a filter


def test_a_query_runs_on_one_faiss_thread_and_leaves_the_callers_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng, 200, 16)
    index = VectorIndex(tmp_path / "clips.faiss", 16)
    index.sync(dict(enumerate(vectors)), ())
    during: list[int] = []
    search = faiss.IndexIDMap2.search

    def recording(self: faiss.Index, *args: object, **kwargs: object) -> object:
        during.append(faiss.omp_get_max_threads())
        return search(self, *args, **kwargs)

    monkeypatch.setattr(faiss.IndexIDMap2, "search", recording)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        assert index.search(vectors[42], 1)[0][0] == 42
        assert during == [1]
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)
