"""Vector search at archive scale: FAISS index candidates for clip embeddings, face identification at 10 M.

Functions called by ``benchmarks/search_api.py`` (its ``similar_*``, ``identify_*``, index build and
memory figures), and a command of its own for the candidate table::

    .venv/bin/python benchmarks/vector_bench.py sweep [--clips 1000000] [--dim 1024] [--queries 200]
    .venv/bin/python benchmarks/vector_bench.py faces [--faces 10000000] [--queries 200]

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
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.index import VectorIndex  # noqa: E402

CHUNK = 100_000  # vectors generated, assigned and added at a time
CENTRES = 400  # class centres of the synthetic embeddings
SUBCENTRES = 20  # sub-centres (games, scenes) per class centre


def clustered_chunks(n: int, dim: int, *, seed: int = 0, chunk: int = CHUNK, start: int = 0) -> Iterator[np.ndarray]:
    """``n`` clustered, L2-normalised float32 vectors in chunks of ``(<= chunk, dim)``, the same for the same seed.

    A vector is ``centre + 0.6 · subcentre offset + 0.5 · noise`` (each term of norm about 1 before
    its weight), normalised. ``start`` skips that many vectors' worth of chunk seeds, so queries can
    be drawn from the same distribution without repeating the indexed vectors.
    """
    rng = np.random.default_rng(seed)
    scale = np.float32(1 / np.sqrt(dim))
    centres = rng.standard_normal((CENTRES, dim), dtype=np.float32) * scale
    offsets = rng.standard_normal((CENTRES, SUBCENTRES, dim), dtype=np.float32) * scale
    for first in range(0, n, chunk):
        size = min(chunk, n - first)
        part = np.random.default_rng((seed, start + first))
        which = part.integers(0, CENTRES, size)
        sub = part.integers(0, SUBCENTRES, size)
        noise = part.standard_normal((size, dim), dtype=np.float32) * scale
        vectors = centres[which] + np.float32(0.6) * offsets[which, sub] + np.float32(0.5) * noise
        faiss.normalize_L2(vectors)
        yield vectors


def exact_top_k(queries: np.ndarray, chunks: Iterator[np.ndarray], k: int) -> np.ndarray:
    """Row positions ``(Q, k)`` of the ``k`` largest inner products of each query over all chunks (exact)."""
    best_scores = np.full((len(queries), k), -np.inf, np.float32)
    best_ids = np.full((len(queries), k), -1, np.int64)
    offset = 0
    for vectors in chunks:
        scores = queries @ vectors.T
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
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / truth.shape[1] for f, t in zip(found, truth)]))


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
    args = parser.parse_args()
    if args.command == "sweep":
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
