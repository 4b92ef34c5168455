"""Shared preprocessing: decode size, centre crop and normalisation, L2 normalisation (pure numpy/torch)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ml.crnn import clip_tensor
from ml.i3d import I3DWeights
from ml.mobilenet_v2 import MobileNetV2Weights
from ml.preprocessing import centre_crop, l2_normalize, normalize, resize_short_side
from ml.recognizer import ActionRecognizer


def test_resize_short_side_keeps_each_checkpoint_ratio() -> None:
    assert resize_short_side(224, I3DWeights.DEFAULT.value) == 256
    assert resize_short_side(112, MobileNetV2Weights.DEFAULT.value) == 128
    assert resize_short_side(160, MobileNetV2Weights.DEFAULT.value) == 183


def test_centre_crop_takes_the_middle_and_checks_its_input() -> None:
    clips = np.arange(1 * 2 * 6 * 8 * 3, dtype=np.uint8).reshape(1, 2, 6, 8, 3)
    crop = centre_crop(clips, 4)
    assert crop.shape == (1, 2, 4, 4, 3) and crop.flags.c_contiguous
    assert np.array_equal(crop, clips[:, :, 1:5, 2:6])
    with pytest.raises(ValueError, match="smaller than the 7px crop"):
        centre_crop(clips, 7)
    with pytest.raises(ValueError, match="uint8 clips"):
        centre_crop(clips.astype(np.float32), 4)


def test_normalize_scales_to_the_checkpoint_statistics() -> None:
    crop = np.full((1, 1, 2, 2, 3), 255, dtype=np.uint8)
    x = normalize(crop, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    assert x.shape == (1, 3, 1, 2, 2) and x.dtype == torch.float32
    assert torch.allclose(x[0, :, 0, 0, 0], torch.tensor([1.0, 3.0, 1.0]))


def test_the_action_model_and_the_crnn_preprocess_alike() -> None:
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, size=(2, 3, 120, 150, 3), dtype=np.uint8)
    spec = MobileNetV2Weights.DEFAULT.value
    weights = dataclasses.replace(I3DWeights.DEFAULT.value, mean=spec.mean, std=spec.std)
    recognizer = ActionRecognizer(torch.nn.Identity(), weights, crop_size=112)
    assert torch.allclose(recognizer.preprocess(clips), clip_tensor(clips, spec, crop_size=112, with_flow=False))


def test_l2_normalize_gives_unit_rows_and_keeps_zero_vectors() -> None:
    vectors = np.array([[3.0, 4.0], [0.0, 0.0]])
    out = l2_normalize(vectors)
    assert out.dtype == np.float32
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert np.allclose(l2_normalize(np.array([0.0, 2.0])), [0.0, 1.0])
