"""Vector search at archive scale: FAISS index candidates for clip embeddings, face identification at 10 M.

Functions called by ``benchmarks/search_api.py`` (its ``similar_*``, ``identify_*``, index build and
memory figures), and a command of its own for the candidate table::

    .venv/bin/python benchmarks/vector_bench.py sweep [--clips 1000000] [--dim 1024] [--queries 200]
    .venv/bin/python benchmarks/vector_bench.py faces [--faces 10000000] [--queries 200]
    .venv/bin/python benchmarks/vector_bench.py sync [--rows 200000] [--games 5] [--per-game 200]

Synthetic vectors are clustered like real embeddings (clustered by class, sub-clustered by game and
scene): 400 class centres, 20 sub-centres each, isotropic noise, L2-normalised
(:func:`clustered_chunks`). They are generated in chunks, so no step holds all of them twice.
Recall@10 is measured against exact inner-product search over the same vectors; latencies are
single queries, one FAISS thread (for one query at a time one thread beats two here), milliseconds.
Each line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.faces import DESCRIPTOR_DIM, FaceRecognizer, euclidean, load_image  # noqa: E402
from search.identities import choose_person  # noqa: E402
from search.index import Fold, Training, VectorIndex  # noqa: E402

SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))

CHUNK = 100_000  # vectors generated, assigned and added at a time
CENTRES = 400  # class centres of the synthetic embeddings
SUBCENTRES = 20  # sub-centres (games, scenes) per class centre


def clustered_chunks(
    n: int,
    dim: int,
    *,
    seed: int = 0,
    chunk: int = CHUNK,
    start: int = 0,
    centres: int = CENTRES,
    subcentres: int = SUBCENTRES,
) -> Iterator[np.ndarray]:
    """``n`` clustered, L2-normalised float32 vectors in chunks of ``(<= chunk, dim)``, the same for the same seed.

    A vector is ``centre + 0.6 · subcentre offset + 0.5 · noise`` (each term of norm about 1 before
    its weight), normalised. ``start`` skips that many vectors' worth of chunk seeds, so queries can
    be drawn from the same distribution without repeating the indexed vectors.
    """
    rng = np.random.default_rng(seed)
    scale = np.float32(1 / np.sqrt(dim))
    means = rng.standard_normal((centres, dim), dtype=np.float32) * scale
    offsets = rng.standard_normal((centres, subcentres, dim), dtype=np.float32) * scale
    for first in range(0, n, chunk):
        size = min(chunk, n - first)
        part = np.random.default_rng((seed, start + first))
        which = part.integers(0, centres, size)
        sub = part.integers(0, subcentres, size)
        noise = part.standard_normal((size, dim), dtype=np.float32) * scale
        vectors = means[which] + np.float32(0.6) * offsets[which, sub] + np.float32(0.5) * noise
        faiss.normalize_L2(vectors)
        yield vectors


def exact_top_k(
    queries: np.ndarray, chunks: Iterator[np.ndarray], k: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Row positions ``(Q, k)`` of the ``k`` largest inner products of each query over all chunks (exact).

    ``allowed``: a boolean per row position; the others are never returned (a filter).
    """
    best_scores = np.full((len(queries), k), -np.inf, np.float32)
    best_ids = np.full((len(queries), k), -1, np.int64)
    offset = 0
    for vectors in chunks:
        scores = queries @ vectors.T
        if allowed is not None:
            scores[:, ~allowed[offset : offset + len(vectors)]] = -np.inf
        ids = np.broadcast_to(np.arange(offset, offset + len(vectors)), scores.shape)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, ids], axis=1)
        top = np.argpartition(-all_scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, top, 1)
        best_ids = np.take_along_axis(all_ids, top, 1)
        offset += len(vectors)
    return best_ids


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` ``(Q, k)`` present in the same row of ``found`` ``(Q, >= k)``."""
    return float(
        np.mean([len(set(f.tolist()) & set(t.tolist())) / truth.shape[1] for f, t in zip(found, truth, strict=True)])
    )


def timed_search(
    index: faiss.Index, queries: np.ndarray, k: int, params: faiss.SearchParameters | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Search one query at a time; returns ``(ids (Q, k), milliseconds (Q,))``."""
    ids = np.empty((len(queries), k), np.int64)
    times = np.empty(len(queries))
    for i in range(len(queries)):
        started = time.perf_counter()
        _, found = index.search(queries[i : i + 1], k, params=params)
        times[i] = (time.perf_counter() - started) * 1000
        ids[i] = found[0]
    return ids, times


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def sweep(n: int, dim: int, n_queries: int, nlists: list[int], codecs: list[str], nprobes: list[int]) -> list[dict]:
    """Measure IVF candidates (one trained coarse quantiser per ``nlist``, shared by the codecs) at ``n`` vectors.

    Every candidate is filled with the same vectors through precomputed assignments (one coarse
    search per chunk for all codecs). Returns one row per (factory, nprobe): recall@10, p50/p95 ms,
    and the index's bytes per vector.
    """
    queries = next(clustered_chunks(n_queries, dim, seed=0, start=10 * n + 1))
    truth = exact_top_k(queries, clustered_chunks(n, dim), 10)
    training = np.concatenate(list(clustered_chunks(min(n, 160_000), dim, seed=0, start=20 * n + 1)))
    rows = []
    for nlist in nlists:
        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        quantizer = faiss.IndexFlatIP(dim)
        kmeans = faiss.Clustering(dim, nlist)
        kmeans.niter, kmeans.max_points_per_centroid = 10, 64
        kmeans.spherical = True
        kmeans.train(training, quantizer)
        coarse_s = time.perf_counter() - started
        indexes = {}
        for codec in codecs:
            index = faiss.index_factory(dim, f"IVF{nlist},{codec}", faiss.METRIC_INNER_PRODUCT)
            ivf = faiss.extract_index_ivf(index)
            ivf.quantizer = quantizer
            ivf.own_fields = False
            ivf.is_trained = False
            started = time.perf_counter()
            index.train(training[:65_536]) if codec != "Flat" else None
            ivf.is_trained = True
            indexes[codec] = (index, time.perf_counter() - started)
        started = time.perf_counter()
        offset = 0
        for vectors in clustered_chunks(n, dim):
            _, assign = quantizer.search(vectors, 1)
            ids = np.arange(offset, offset + len(vectors), dtype=np.int64)
            for index, _ in indexes.values():
                add_preassigned(faiss.extract_index_ivf(index), vectors, assign.ravel(), ids)
            offset += len(vectors)
        add_s = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        for codec, (index, train_s) in indexes.items():
            for nprobe in nprobes:
                found, times = timed_search(index, queries, 10, faiss.SearchParametersIVF(nprobe=nprobe))
                rows.append(
                    {
                        "factory": f"IVF{nlist},{codec}",
                        "nprobe": nprobe,
                        "recall_at_10": round(recall_at(found, truth), 4),
                        "p50_ms": round(float(np.percentile(times, 50)), 2),
                        "p95_ms": round(float(np.percentile(times, 95)), 2),
                        "bytes_per_vector": faiss.extract_index_ivf(index).code_size,
                        "coarse_train_s": round(coarse_s, 1),
                        "codec_train_s": round(train_s, 1),
                        "add_s_all_codecs": round(add_s, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
        del indexes
    return rows


class Timed:
    """Batches for :meth:`VectorIndex.rebuild`, noting when the first is asked for (training is over by then)."""

    def __init__(self, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        self.batches = batches
        self.started = time.perf_counter()
        self.trained_at: float | None = None

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for batch in self.batches:
            if self.trained_at is None:
                self.trained_at = time.perf_counter()
            yield batch

    @property
    def train_s(self) -> float:
        """Seconds from the start to the first batch: the training."""
        return round((self.trained_at or self.started) - self.started, 2)


CLIP_QUERIES_SEED = 7  # held-out similar-clip queries: same distribution, other chunk seeds


def clip_vectors(n: int, dim: int) -> Iterator[np.ndarray]:
    """The benchmark's clip embeddings, ``(<= CHUNK, dim)`` float32 chunks in primary-key order (the same every run)."""
    return clustered_chunks(n, dim)


def clip_filters(n: int) -> dict[str, np.ndarray]:
    """Filters of similar search as boolean masks over row positions, drawn at random (independent of the
    embedding clusters: the harder case for an inverted file): ``sport``, a fifth of the rows; ``team``, a
    hundredth (10 000 clips at 1 M: a team's seasons); ``player``, 60 rows (one player's clips)."""
    rng = np.random.default_rng(11)
    player = np.zeros(n, bool)
    player[rng.choice(n, min(n, 60), replace=False)] = True
    return {"sport": rng.random(n) < 0.2, "team": rng.random(n) < 0.01, "player": player}


def write_clip_index(n: int, dim: int, first_id: int) -> dict[str, Any]:
    """The writer's side, run in its own process: rebuild the configured clip index from :func:`clip_vectors`.

    Ids are ``first_id .. first_id + n - 1`` (the benchmark's Clip primary keys, inserted in order).
    The index trains (``HL_FAISS_CLIP_TRAINED_FACTORY``) when ``n`` reaches ``HL_FAISS_CLIP_TRAIN_ROWS``,
    on a random sample of ``HL_FAISS_TRAIN_SAMPLE`` of the vectors, as ``indexer.index_writer`` does.

    Returns:
        ``similar_index``, ``similar_nprobe``, ``index_build_s`` (training + adding), ``index_train_s``,
        ``index_bytes`` (the snapshot file) and ``peak_rss_mb`` of this process.
    """
    from indexer import runtime
    from search.clips import clip_index

    index = clip_index(runtime.model_weights())
    sample = None
    if index.training is not None and index.trains(n):
        rng = np.random.default_rng(3)
        take = np.sort(rng.choice(n, min(n, index.training.sample), replace=False))
        parts, offset = [], 0
        for vectors in clip_vectors(n, dim):
            parts.append(vectors[take[(take >= offset) & (take < offset + len(vectors))] - offset])
            offset += len(vectors)
        sample = np.concatenate(parts)

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        offset = first_id
        for vectors in clip_vectors(n, dim):
            yield np.arange(offset, offset + len(vectors), dtype=np.int64), vectors
            offset += len(vectors)

    timed = Timed(batches())
    version = index.rebuild(timed, sample)
    trained = index.trained_rows() > 0
    return {
        "similar_index": index.training.factory if trained and index.training else index.factory,
        "similar_nprobe": index.training.nprobe if trained and index.training else None,
        "index_build_s": round(time.perf_counter() - timed.started, 1),
        "index_train_s": timed.train_s if trained else 0.0,
        "index_bytes": index.snapshot_path(version).stat().st_size,
        "peak_rss_mb": peak_rss_mb(),
    }


def read_clip_index(n: int, dim: int, first_id: int, n_queries: int) -> dict[str, Any]:
    """A web process's side, run in its own process: open the newest clip snapshot (memory-mapped) and search it.

    Unfiltered and filtered (:func:`clip_filters`) queries go through ``VectorIndex.search``, the
    call ``highlights.selectors.similar_clips`` makes, one FAISS thread.

    Returns:
        Per filter (``none``, ``sport``, ``player``) the ids found ``(Q, 10)`` and the milliseconds,
        and this process's ``peak_rss_mb`` and ``private_rss_mb`` (``RssAnon``: not shared with others).
    """
    from indexer import runtime
    from search.clips import clip_index

    faiss.omp_set_num_threads(1)
    index = clip_index(runtime.model_weights())
    queries = next(clustered_chunks(n_queries, dim, seed=0, start=CLIP_QUERIES_SEED * n))
    results: dict[str, Any] = {}
    for name, mask in {"none": None, **clip_filters(n)}.items():
        allowed = None if mask is None else set((np.flatnonzero(mask) + first_id).tolist())
        found, times = [], []
        for query in queries:
            started = time.perf_counter()
            hits = index.search(query, 10, allowed=allowed)
            times.append((time.perf_counter() - started) * 1000)
            found.append([pk for pk, _ in hits] + [-1] * (10 - len(hits)))
        results[name] = {"ids": found, "ms": times}
    status = Path("/proc/self/status").read_text()
    anon = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("RssAnon:"))
    return {"searches": results, "peak_rss_mb": peak_rss_mb(), "private_rss_mb": round(anon / 1024, 1)}


def _in_process(command: str, n: int, dim: int, first_id: int, n_queries: int = 0) -> dict[str, Any]:
    """Run :func:`write_clip_index` or :func:`read_clip_index` in a fresh Python process (its memory alone)."""
    out = subprocess.run(
        [sys.executable, __file__, command, "--clips", str(n), "--dim", str(dim), "--first-id", str(first_id),
         "--queries", str(n_queries)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def clip_figures(n: int, dim: int, first_id: int = 1, n_queries: int = 200) -> dict[str, Any]:
    """Build the clip index in a writer process, search it from a web process, and score it against exact search.

    Returns:
        ``similar_index``, ``similar_nprobe``, ``index_build_s``, ``index_train_s``, FAISS-level
        ``similar_faiss_p50_ms``/``similar_faiss_p95_ms`` and ``similar_recall_at_10`` (unfiltered),
        ``similar_filtered`` (per filter: recall@10 and p95), and ``peak_rss_mb`` /
        ``private_rss_mb`` per process (``writer``, ``web``).
    """
    written = _in_process("write-clips", n, dim, first_id)
    read = _in_process("read-clips", n, dim, first_id, n_queries)
    queries = next(clustered_chunks(n_queries, dim, seed=0, start=CLIP_QUERIES_SEED * n))
    filters = {"none": None, **clip_filters(n)}
    scored = {}
    for name, mask in filters.items():
        truth = exact_top_k(queries, clip_vectors(n, dim), 10, mask) + first_id
        found = np.array(read["searches"][name]["ids"])
        scored[name] = {
            "recall_at_10": round(recall_at(found, truth), 4),
            "p50_ms": round(float(np.percentile(read["searches"][name]["ms"], 50)), 2),
            "p95_ms": round(float(np.percentile(read["searches"][name]["ms"], 95)), 2),
        }
    unfiltered = scored.pop("none")
    return {
        **{k: v for k, v in written.items() if k != "peak_rss_mb"},
        "similar_recall_at_10": unfiltered["recall_at_10"],
        "similar_faiss_p50_ms": unfiltered["p50_ms"],
        "similar_faiss_p95_ms": unfiltered["p95_ms"],
        "similar_filtered": scored,
        "peak_rss_mb": {"writer": written["peak_rss_mb"], "web": read["peak_rss_mb"]},
        "private_rss_mb": {"web": read["private_rss_mb"]},
    }


def _written(index: VectorIndex, version: int) -> int:
    """Bytes a write of ``version`` put on disk: its base or its delta and removed list, and the pointer."""
    files = [index.snapshot_path(version), index.delta_path(version), index.removed_path(version), index.version_path]
    return sum(path.stat().st_size for path in files if path.exists())


def _percentiles(times: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(times, 50)), 2), "p95": round(float(np.percentile(times, 95)), 2)}


def sync_figures(
    n: int, dim: int, games: int, per_game: int, n_queries: int, training: Training, fold: Fold, folder: Path
) -> dict[str, Any]:
    """A game's index write at ``n`` rows: today's whole-snapshot rewrite beside the delta write, in one run.

    One trained base (``training.factory`` on ``training.sample`` vectors, then the ``n`` rows of
    :func:`clip_vectors`, ids ``1..n``) is written once and hard-linked into a second folder. Each
    of ``games`` games then adds ``per_game`` new rows (none removed) to both copies:
    one folds at every write (``Fold(rows=0)``: a private copy of the base, remove, add, write the
    whole index: what every write did before deltas), the other writes a delta (``fold``). The delta
    is then filled to one game short of the fold size, and one more game is timed there (a write's
    worst case) and the one after it, which folds. Searches (``VectorIndex.search`` of a second
    process's view, one FAISS thread, k = 10) run with an empty delta and with the delta at the fold size.

    Returns:
        Seconds and bytes written per game (``whole_sync``, ``delta_sync``, ``delta_sync_at_fold_size``,
        ``fold``; medians over the games), ``delta_sync_amortised`` (a fold cycle's mean: the delta
        grows from empty to the fold size, then folds), and ``search_ms`` p50/p95 per delta size.
    """
    shutil.rmtree(folder, ignore_errors=True)
    delta = VectorIndex(folder / "delta" / "clips.faiss", dim, training=training, fold=fold)
    sample = np.concatenate(list(clustered_chunks(training.sample, dim, start=20 * n + 1)))
    started = time.perf_counter()
    delta.rebuild(
        ((np.arange(first, first + len(v), dtype=np.int64), v) for first, v in _numbered(clip_vectors(n, dim))), sample
    )
    build_s = time.perf_counter() - started
    whole = VectorIndex(folder / "whole" / "clips.faiss", dim, training=training, fold=Fold(rows=0, share=0.0))
    whole.path.parent.mkdir(parents=True)
    os.link(delta.snapshot_path(1), whole.snapshot_path(1))
    shutil.copyfile(delta.version_path, whole.version_path)
    queries = next(clustered_chunks(n_queries, dim, start=CLIP_QUERIES_SEED * n))
    limit = fold.limit(n)
    new = np.concatenate(list(clustered_chunks(games * per_game + limit + per_game, dim, start=30 * n + 1)))
    next_id = n + 1

    def game(index: VectorIndex, rows: int = per_game) -> tuple[float, int]:
        nonlocal next_id
        wanted = dict(zip(range(next_id, next_id + rows), new[next_id - n - 1 :], strict=False))
        next_id += rows
        started = time.perf_counter()
        index.sync(wanted, ())
        return time.perf_counter() - started, _written(index, index.version())

    def searched() -> dict[str, float]:
        reader = VectorIndex(delta.path, dim, training=training)
        reader.load()
        times = []
        for query in queries:
            started = time.perf_counter()
            reader.search(query, 10)
            times.append((time.perf_counter() - started) * 1000)
        return _percentiles(times)

    def median(runs: list[tuple[float, int]]) -> dict[str, float]:
        return {"s": round(float(np.median([s for s, _ in runs])), 3), "bytes": int(np.median([b for _, b in runs]))}

    search_empty = searched()
    whole_runs, delta_runs = [], []
    for _ in range(games):  # the same rows go to both: the second index reads ids the first was given
        first = next_id
        whole_runs.append(game(whole))
        next_id = first
        delta_runs.append(game(delta))
    game(delta, limit - delta.load().delta.ntotal - per_game)  # fill the delta to one game short of the fold
    at_fold = game(delta)
    search_full = {**searched(), "delta_rows": delta.load().delta.ntotal}
    folded = game(delta)
    cycle = limit / per_game  # games between two folds
    mean_delta = ((delta_runs[0][0] + at_fold[0]) / 2, (delta_runs[0][1] + at_fold[1]) / 2)
    return {
        "rows": n,
        "dim": dim,
        "index": training.factory,
        "base_bytes": delta.snapshot_path(1).stat().st_size,
        "base_build_s": round(build_s, 1),
        "per_game": per_game,
        "fold_rows": limit,
        "whole_sync": median(whole_runs),
        "delta_sync": median(delta_runs),
        "delta_sync_at_fold_size": median([at_fold]),
        "fold": median([folded]),
        "delta_sync_amortised": {
            "s": round(mean_delta[0] + folded[0] / cycle, 3),
            "bytes": int(mean_delta[1] + folded[1] / cycle),
        },
        "search_ms": {"empty_delta": search_empty, "delta_at_fold_size": search_full},
    }


def _numbered(chunks: Iterator[np.ndarray], first: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(first id, chunk)`` of consecutive ids from ``first``."""
    for vectors in chunks:
        yield first, vectors
        first += len(vectors)


def shared_face_descriptors(weights_dir: Path) -> tuple[np.ndarray, list[str]]:
    """dlib descriptors ``(N, 128)`` of the shared face photos (``data/faces/labels.csv``) and their identities."""
    face_recognizer = FaceRecognizer(weights_dir)
    vectors, identities = [], []
    for line in (SHARED / "data" / "faces" / "labels.csv").read_text().splitlines()[1:]:
        file, identity = line.split(",")
        found = face_recognizer.detect_and_describe(load_image(SHARED / "data" / "faces" / file))
        if found:
            vectors.append(max(found, key=lambda f: f.box[2] * f.box[3]).descriptor)
            identities.append(identity)
    return np.stack(vectors).astype(np.float32), identities


def identify(candidates: list[int], probe: np.ndarray, real: np.ndarray, identities: list[str]) -> str | None:
    """The identity decided from candidate rows of ``real`` as ``highlights.people`` decides (exact Euclidean)."""
    if not candidates:
        return None
    distances = euclidean(probe, real[candidates])[0]
    best: dict[str, float] = {}
    for row, d in zip(candidates, distances.tolist(), strict=True):
        best[identities[row]] = min(best.get(identities[row], np.inf), d)
    ranked = sorted(best.items(), key=lambda item: item[1])
    match = choose_person([(i, d) for i, (_, d) in enumerate(ranked)], threshold=0.6, margin=0.1)
    return ranked[match[0]][0] if match else None


def face_bench(n_faces: int, training: Training, folder: Path, weights_dir: Path, candidates: int = 64) -> dict:
    """Face identification at ``n_faces`` track vectors: the shared faces planted among synthetic tracks.

    ``n_faces - N`` synthetic descriptors (50 000 people of 25 looks each, clustered) and the ``N``
    shared photos' real descriptors (ids from ``n_faces - N``) are written as one trained snapshot
    in 100 000-vector batches. Each real photo then queries the memory-mapped snapshot for
    ``candidates`` tracks (``highlights.people``'s ``_TRACK_CANDIDATES``) leaving itself out, and
    its identity is decided on exact Euclidean distances to the real candidates (dlib's protocol,
    threshold 0.6, margin 0.1), as against all other real photos without FAISS.

    Returns:
        ``identify_p50_ms``/``identify_p95_ms`` (FAISS search per query), ``identify_recall_at_1``
        (and ``identify_recall_at_1_exact``: the same decision without FAISS), ``faces_index``,
        ``faces_build_s``, ``faces_train_s``, ``faces_rows`` and the writer's peak RSS (``faces_writer``).
    """
    real, identities = shared_face_descriptors(weights_dir)
    first_real = n_faces - len(real)
    writer = VectorIndex(folder / "face-tracks-dlib.faiss", DESCRIPTOR_DIM, training=training)

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        offset = 0
        for vectors in clustered_chunks(first_real, DESCRIPTOR_DIM, seed=1, centres=2000, subcentres=25):
            yield np.arange(offset, offset + len(vectors), dtype=np.int64), vectors
            offset += len(vectors)
        yield np.arange(first_real, n_faces, dtype=np.int64), real

    sample = np.concatenate(
        list(clustered_chunks(training.sample, DESCRIPTOR_DIM, seed=1, start=n_faces + 1, centres=2000, subcentres=25))
    )
    timed = Timed(batches())
    writer.rebuild(timed, sample if writer.trains(n_faces) else None)
    build_s = round(time.perf_counter() - timed.started, 1)
    writer_rss = peak_rss_mb()
    reader = VectorIndex(writer.path, DESCRIPTOR_DIM, training=training)
    faiss.omp_set_num_threads(1)
    reader.load()
    times, found, exact = [], 0, 0
    for row, probe in enumerate(real):
        started = time.perf_counter()
        hits = reader.search(probe, candidates, exclude={first_real + row})
        times.append((time.perf_counter() - started) * 1000)
        rows = [pk - first_real for pk, _ in hits if pk >= first_real]
        found += identify(rows, probe, real, identities) == identities[row]
        others = [r for r in range(len(real)) if r != row]
        exact += identify(others, probe, real, identities) == identities[row]
    return {
        "identify_p50_ms": round(float(np.percentile(times, 50)), 2),
        "identify_p95_ms": round(float(np.percentile(times, 95)), 2),
        "identify_recall_at_1": round(found / len(real), 4),
        "identify_recall_at_1_exact": round(exact / len(real), 4),
        "identify_queries": len(real),
        "faces_rows": n_faces,
        "faces_index": training.factory if writer.trains(n_faces) else writer.factory,
        "faces_nprobe": training.nprobe,
        "faces_build_s": build_s,
        "faces_train_s": timed.train_s,
        "faces_writer_peak_rss_mb": writer_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep", help="IVF candidates for clip vectors: recall@10 and latency per nprobe")
    p.add_argument("--clips", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--nlist", default="1024,4096")
    p.add_argument("--codecs", default="Flat,SQ8,PQ128")
    p.add_argument("--nprobe", default="8,16,32,64,128")
    p = sub.add_parser("faces", help="face identification at archive scale (shared faces among synthetic tracks)")
    p.add_argument("--faces", type=int, default=10_000_000)
    p.add_argument("--factory", default="IVF4096,SQ8")
    p.add_argument("--nprobe", type=int, default=16)
    p.add_argument("--folder", type=Path, default=ROOT / "var" / "bench" / "faces-index")
    p = sub.add_parser("sync", help="a game's index write: whole-snapshot rewrite vs delta, search with a delta")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--games", type=int, default=5)
    p.add_argument("--per-game", type=int, default=200)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--factory", default="IVF1024,SQ8")
    p.add_argument("--nprobe", type=int, default=16)
    p.add_argument("--sample", type=int, default=40_000)
    p.add_argument("--fold-rows", type=int, default=Fold().rows)
    p.add_argument("--fold-share", type=float, default=Fold().share)
    p.add_argument("--folder", type=Path, default=ROOT / "var" / "bench" / "sync-index")
    for name in ("clips", "write-clips", "read-clips"):
        p = sub.add_parser(
            name, help="clip index at scale: writer process, web process, recall" if name == "clips" else ""
        )
        p.add_argument("--clips", type=int, default=1_000_000)
        p.add_argument("--dim", type=int, default=1024)
        p.add_argument("--first-id", type=int, default=1)
        p.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if args.command in ("clips", "write-clips", "read-clips"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
        os.environ.setdefault("HL_INDEX_DIR", str(ROOT / "var" / "bench" / "vector-index"))
        import django

        django.setup()
    if args.command == "clips":
        print(json.dumps({**clip_figures(args.clips, args.dim, args.first_id, args.queries), "cores": os.cpu_count()}))
    elif args.command == "write-clips":
        print(json.dumps(write_clip_index(args.clips, args.dim, args.first_id)))
    elif args.command == "read-clips":
        print(json.dumps(read_clip_index(args.clips, args.dim, args.first_id, args.queries)))
    elif args.command == "faces":
        training = Training(args.factory, min_rows=200_000, nprobe=args.nprobe)
        weights = Path(os.environ.get("HL_WEIGHTS_DIR", SHARED / "weights"))
        figures = face_bench(args.faces, training, args.folder, weights)
        print(json.dumps({**figures, "peak_rss_mb": peak_rss_mb(), "cores": os.cpu_count()}))
    elif args.command == "sync":
        training = Training(args.factory, min_rows=0, nprobe=args.nprobe, sample=args.sample)
        fold = Fold(args.fold_rows, args.fold_share)
        figures = sync_figures(
            args.rows, args.dim, args.games, args.per_game, args.queries, training, fold, args.folder
        )
        print(json.dumps({**figures, "peak_rss_mb": peak_rss_mb(), "cores": os.cpu_count()}))
    elif args.command == "sweep":
        sweep(
            args.clips,
            args.dim,
            args.queries,
            [int(v) for v in args.nlist.split(",")],
            args.codecs.split(","),
            [int(v) for v in args.nprobe.split(",")],
        )
        print(json.dumps({"peak_rss_mb": peak_rss_mb(), "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
