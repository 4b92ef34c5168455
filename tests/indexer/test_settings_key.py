"""Results are keyed by every setting that changes them: a settings change re-analyses, never reuses a stale result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings

from highlights.models import Clip, IndexJob
from indexer import artifacts, runtime
from indexer.stages.analysis import AnalysisParams
from indexer.stages.graphics import GraphicsParams


def test_the_analysis_key_changes_with_every_parameter_that_changes_the_result() -> None:
    base = AnalysisParams(sample_fps=5, window_frames=16, overlap=0.25, short_side=256, batch_windows=4)
    key = artifacts.analysis_key(base, crop_size=224, precision="fp32")
    changed = [
        artifacts.analysis_key(replace(base, sample_fps=8), crop_size=224, precision="fp32"),
        artifacts.analysis_key(replace(base, window_frames=32), crop_size=224, precision="fp32"),
        artifacts.analysis_key(replace(base, overlap=0.5), crop_size=224, precision="fp32"),
        artifacts.analysis_key(replace(base, short_side=182), crop_size=224, precision="fp32"),
        artifacts.analysis_key(base, crop_size=160, precision="fp32"),
        artifacts.analysis_key(base, crop_size=224, precision="bf16"),
    ]
    assert len({key, *changed}) == 7
    speed_only = replace(base, batch_windows=8, decode_threads=2)
    assert artifacts.analysis_key(speed_only, crop_size=224, precision="fp32") == key, "speed only"
    assert artifacts.clips_key(key, min_clip_s=1.0) != artifacts.clips_key(key, min_clip_s=2.0)
    assert artifacts.clips_key(key, min_clip_s=1.0) != artifacts.clips_key(changed[0], min_clip_s=1.0)


def test_the_graphics_key_changes_with_every_reading_parameter_and_names_the_artifact() -> None:
    base = GraphicsParams()
    key = artifacts.graphics_key(base)
    changed = [
        artifacts.graphics_key(replace(base, sample_fps=1.0)),
        artifacts.graphics_key(replace(base, short_side=540)),
        artifacts.graphics_key(replace(base, min_confidence=0.6)),
        artifacts.graphics_key(replace(base, max_groups=2)),
    ]
    assert len({key, *changed}) == 5
    assert artifacts.graphics_key(GraphicsParams()) == key, "the key is a function of the parameters alone"
    assert artifacts.graphics_key(replace(base, prefetch_frames=8)) == key, "the read-ahead changes the speed only"
    with override_settings(HL_GRAPHICS_FPS=1.0, HL_GRAPHICS_SHORT_SIDE=540):
        params = artifacts.graphics_params()
        assert (params.sample_fps, params.short_side) == (1.0, 540)
        wanted = artifacts.graphics_key(params)
        path = artifacts.graphics_path(7, "pp_ocrv4@48fc40f2", wanted)
    assert path.parent == artifacts.game_work_dir(7)
    assert path.name == f"graphics-p{artifacts.PIPELINE_VERSION}-pp_ocrv4-48fc40f2-{wanted}.json"
    assert wanted != key, "the settings reach the key"


def _analysed(game_id: int) -> bool:
    """Whether the game's last job ran the analysis (it records decode timings only then)."""
    return "decode_model" in IndexJob.objects.filter(game_id=game_id).latest("created_at").timings


def test_changing_a_setting_re_analyses_and_replaces_the_clips(
    index_game: Callable[..., dict[str, Any]], video_dir: Path
) -> None:
    video = video_dir / "tennis_atp_hardcourt_5s.mp4"
    first = index_game(video)
    game_id = first["game_id"]
    precision = IndexJob.objects.filter(game_id=game_id).latest("created_at").model_versions["precision"]
    assert precision == runtime.placement().precision, "the job records the precision it analysed at"
    key = artifacts.current_analysis_key(precision)
    assert _analysed(game_id)
    assert set(Clip.objects.filter(game_id=game_id).values_list("params_key", flat=True)) == {
        artifacts.clips_key(key, min_clip_s=settings.HL_MIN_CLIP_S)
    }

    index_game(video)
    assert not _analysed(game_id), "same settings: the artifact is reused"

    with override_settings(HL_WINDOW_OVERLAP=0.5):
        changed_key = artifacts.current_analysis_key(precision)
        again = index_game(video)
        assert _analysed(game_id), "a new window overlap analyses again"
        new_clips = Clip.objects.filter(game_id=game_id)
        wanted = artifacts.clips_key(changed_key, min_clip_s=settings.HL_MIN_CLIP_S)
        assert set(new_clips.values_list("params_key", flat=True)) == {wanted}
    assert changed_key != key
    assert again["game_id"] == game_id
    assert not {c["id"] for c in again["clips"]} & {c["id"] for c in first["clips"]}, "the old clips were replaced"
    model_version = IndexJob.objects.filter(game_id=game_id).latest("created_at").model_versions["action"]
    assert artifacts.analysis_path(game_id, model_version, key).exists()
    assert artifacts.analysis_path(game_id, model_version, changed_key).exists()

    with override_settings(HL_MIN_CLIP_S=settings.HL_MIN_CLIP_S + 0.5):
        longer = index_game(video)
        assert not _analysed(game_id), "the shortest clip kept changes the clips, not the analysis"
        keys = set(Clip.objects.filter(game_id=game_id).values_list("params_key", flat=True))
        assert keys == {artifacts.clips_key(key, min_clip_s=settings.HL_MIN_CLIP_S)}
    assert not {c["id"] for c in longer["clips"]} & {c["id"] for c in first["clips"]}


def test_window_embeddings_find_the_analysis_at_any_precision(settings: Any, tmp_path: Path) -> None:
    settings.HL_WORK_DIR = str(tmp_path)
    model_version = "i3d@test"
    assert artifacts.existing_analysis(7, model_version) is None
    bf16 = artifacts.analysis_path(7, model_version, artifacts.current_analysis_key("bf16"))
    assert bf16 != artifacts.analysis_path(7, model_version, artifacts.current_analysis_key("fp32"))
    bf16.parent.mkdir(parents=True)
    bf16.write_bytes(b"")
    assert artifacts.existing_analysis(7, model_version) == bf16
    fp32 = artifacts.analysis_path(7, model_version, artifacts.current_analysis_key("fp32"))
    fp32.write_bytes(b"")
    assert artifacts.existing_analysis(7, model_version) == fp32, "full precision first"
    assert artifacts.existing_analysis(8, model_version) is None, "another game's artifact is not taken"
