"""The worker's model cache: bounded, least recently used first out, unloads on demand, one load per key."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import override_settings

from indexer import runtime
from indexer.runtime import ModelCache


def test_the_cache_keeps_at_most_its_size_and_drops_the_least_recently_used() -> None:
    cache = ModelCache(2)
    loads: list[str] = []

    def loader(name: str) -> object:
        loads.append(name)
        return object()

    a = cache.get("a", lambda: loader("a"))
    cache.get("b", lambda: loader("b"))
    assert cache.get("a", lambda: loader("a")) is a  # a is now the most recent
    cache.get("c", lambda: loader("c"))
    assert cache.keys() == ["a", "c"]
    cache.get("b", lambda: loader("b"))
    assert loads == ["a", "b", "c", "b"]


def test_unload_drops_matching_entries_and_a_failed_load_caches_nothing() -> None:
    cache = ModelCache(lambda: 4)
    for key in [("learned", 1), ("learned", 2), ("action", "i3d")]:
        cache.get(key, object)
    assert cache.unload(lambda k: k[0] == "learned") == 2
    assert cache.keys() == [("action", "i3d")]

    def broken() -> object:
        raise RuntimeError("corrupt")

    with pytest.raises(RuntimeError):
        cache.get("x", broken)
    assert cache.keys() == [("action", "i3d")]
    assert cache.unload() == 1 and cache.keys() == []


def test_concurrent_gets_load_a_model_once() -> None:
    cache = ModelCache(2)
    calls = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("m", slow))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1


def test_a_configured_slowfast_digest_pins_the_checkpoint() -> None:
    assert runtime.model_weights("slowfast").file.sha256 is None
    digest = "ab" * 32
    with override_settings(HL_SLOWFAST_SHA256=digest):
        pinned = runtime.model_weights("slowfast")
    assert pinned.file.sha256 == digest and pinned.version == "slowfast_r50_8x8_kinetics400@abababab"


def test_the_ocr_engine_lives_in_the_model_cache_keyed_by_its_threads() -> None:
    runtime.models.unload(lambda key: key[0] == "ocr")
    with override_settings(HL_GRAPHICS_OCR_THREADS=1):
        one = runtime.ocr_engine()
        assert runtime.ocr_engine() is one
    with override_settings(HL_GRAPHICS_OCR_THREADS=2):
        assert runtime.ocr_engine() is not one
    cached = runtime.models.keys()
    assert [key for key in cached if key[0] == "ocr"] == [("ocr", "PP_OCRV4", 1), ("ocr", "PP_OCRV4", 2)]
    assert runtime.models.unload(lambda key: key[0] == "ocr") == 2
