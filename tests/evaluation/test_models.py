from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.images import upsample
from evaluation.models import MODEL_FACTORIES, CallableModel, checked_picture, resolve_model, resolve_simulator


def test_builtin_models():
    lq = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    identity, bicubic, nearest = (resolve_model(spec, 4) for spec in ("identity", "bicubic", "nearest"))
    assert (identity.input_scale, bicubic.input_scale, nearest.input_scale) == (1, 4, 4)
    assert bicubic(lq, "x264", 0.1).shape == (64, 96, 3)
    assert np.array_equal(nearest(lq, "x264", 0.1)[::4, ::4], lq)
    square = lq[:16, :16]
    # identity on the protocol's bicubic input equals the bicubic model: the same picture by construction
    assert np.array_equal(identity(upsample(square, 64), "x264", 0.1), resolve_model("bicubic", 4)(square, "x264", 0.1))


def test_unknown_and_plugin_specs():
    with pytest.raises(ValueError, match="unknown model 'esrgan'.*identity, bicubic, nearest, py"):
        resolve_model("esrgan", 4)
    model = resolve_model("py:tests.evaluation.plugins:sharpen", 4)
    assert isinstance(model, CallableModel) and model.name == "sharpen" and model.input_scale == 1
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve_model("py:tests.evaluation.plugins:nothing_here", 4)
    assert callable(resolve_simulator("py:tests.evaluation.plugins:fake_simulator"))


def test_a_loader_registers_in_the_literal_dict(monkeypatch):
    seen = []

    def load_checkpoint(argument, scale):
        seen.append((argument, scale))
        return CallableModel(lambda image, codec, bpp: image, name="ckpt", input_scale=scale)

    monkeypatch.setitem(MODEL_FACTORIES, "checkpoint", load_checkpoint)
    model = resolve_model("checkpoint:/runs/sr/step-0001000", 4)
    assert seen == [("/runs/sr/step-0001000", 4)] and model.input_scale == 4
    monkeypatch.setitem(MODEL_FACTORIES, "odd", lambda argument, scale: CallableModel(lambda *a: None, "odd", 2))
    with pytest.raises(ValueError, match="input_scale 2 is neither 1 nor 4"):
        resolve_model("odd", 4)


def test_outputs_are_checked():
    with pytest.raises(EvaluationError, match="model returned uint8 \\(7, 8, 3\\), expected uint8 \\(8, 8, 3\\)"):
        checked_picture(np.zeros((7, 8, 3), np.uint8), (8, 8, 3), "astronaut x264: the model")
    with pytest.raises(EvaluationError, match="float32"):
        checked_picture(np.zeros((8, 8, 3), np.float32), (8, 8, 3), "the model")
