"""FAISS index with database ids: sync, search, atomic snapshots, reload on change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.index import VectorIndex


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_sync_keeps_database_ids_and_search_returns_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 50, 16)
    ids = list(range(1000, 1050))
    index = VectorIndex(tmp_path / "clips.faiss", 16)
    assert index.sync(dict(zip(ids, vectors, strict=True)), set(ids)) == (50, 0)
    assert sorted(VectorIndex.ids(index.load()).tolist()) == ids
    hits = index.search(vectors[7], 3)
    assert hits[0][0] == 1007 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert 1007 not in [i for i, _ in index.search(vectors[7], 3, exclude={1007})]


def test_sync_replaces_reinserted_ids_and_drops_ids_gone_from_the_database(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = _unit(rng, 10, 8)
    index = VectorIndex(tmp_path / "clips.faiss", 8)
    index.sync({i: vectors[i] for i in range(10)}, set(range(10)))
    added, removed = index.sync({3: vectors[9]}, keep=set(range(5)))
    assert (added, removed) == (1, 6)  # 5..9 gone, old 3 replaced
    assert sorted(VectorIndex.ids(index.load()).tolist()) == [0, 1, 2, 3, 4]
    assert index.search(vectors[9], 1)[0][0] == 3


def test_a_second_process_view_reloads_the_new_snapshot_and_no_temp_file_remains(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    writer = VectorIndex(tmp_path / "clips.faiss", 8)
    reader = VectorIndex(tmp_path / "clips.faiss", 8)
    assert reader.search(_unit(rng, 1, 8)[0], 5) == []
    writer.sync({1: _unit(rng, 1, 8)[0]}, {1})
    assert VectorIndex.ids(reader.load()).tolist() == [1]
    writer.sync({2: _unit(rng, 1, 8)[0]}, {1, 2})
    assert sorted(VectorIndex.ids(reader.load()).tolist()) == [1, 2]
    assert (reader.version(), writer.version()) == (2, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clips.faiss",
        "clips.v00000001.faiss",
        "clips.v00000002.faiss",
        "clips.version",
    ]


def test_a_snapshot_of_another_dimension_is_refused(tmp_path: Path) -> None:
    VectorIndex(tmp_path / "clips.faiss", 8).sync({1: np.ones(8, np.float32)}, {1})
    with pytest.raises(ValueError, match="8-d"):
        VectorIndex(tmp_path / "clips.faiss", 16).load()


def test_versions_increase_old_snapshots_are_pruned_and_rebuild_replaces_everything(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(tmp_path / "clips.faiss", 8, keep=1)
    for i in range(4):
        index.sync({i: _unit(rng, 1, 8)[0]}, set(range(i + 1)))
    assert index.version() == 4
    assert sorted(p.name for p in tmp_path.glob("clips.v*.faiss")) == ["clips.v00000003.faiss", "clips.v00000004.faiss"]
    assert (tmp_path / "clips.faiss").read_bytes() == (tmp_path / "clips.v00000004.faiss").read_bytes()
    assert index.rebuild({7: _unit(rng, 1, 8)[0]}) == 5
    assert VectorIndex.ids(VectorIndex(tmp_path / "clips.faiss", 8).load()).tolist() == [7]
