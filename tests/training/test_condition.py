"""The codec condition: vector, prompt (the paper's exact format) and sinusoidal embedding."""

from __future__ import annotations

import pytest
import torch

from training.condition import (
    CODEC_NAMES,
    LIBRARY_NAMES,
    SinusoidalEmbedding,
    codec_index,
    condition_batch,
    condition_dim,
    condition_prompt,
    condition_prompts,
    condition_vector,
    embed_conditions,
    onehot_layout,
)


def test_condition_vector_is_onehot_then_bpp() -> None:
    assert torch.equal(condition_vector("x265", 0.3), torch.tensor([0.0, 1.0, 0.0, 0.3]))
    assert condition_vector("vvenc", 1.5).tolist() == [0.0, 0.0, 1.0, 1.5]
    assert CODEC_NAMES == ("x264", "x265", "vvenc")
    assert {name: LIBRARY_NAMES[name] for name in CODEC_NAMES} == {
        "x264": "libx264",
        "x265": "libx265",
        "vvenc": "libvvenc",
    }


def test_onehot_grows_with_the_datasets_codecs_keeping_the_paper_positions() -> None:
    layout = onehot_layout(("webp", "x264", "av1"))
    assert layout == ("x264", "x265", "vvenc", "av1", "webp")
    assert condition_dim(layout) == 6
    assert condition_vector("webp", 0.5, layout).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.5]
    assert condition_vector("x265", 0.3, layout)[:3].tolist() == condition_vector("x265", 0.3)[:3].tolist()
    assert condition_prompt("av1", 0.25) == "A libsvtav1 0.2500 bpp compressed image."
    assert condition_prompt("jpeg", 1.0, "paper") == "A {libjpeg} {1.0} bpp compressed image."
    assert condition_prompts(torch.eye(5)[[4]], torch.tensor([0.5]), layout) == [
        "A libwebp 0.5000 bpp compressed image."
    ]
    with pytest.raises(ValueError, match="unknown codec"):
        onehot_layout(("h263",))


def test_a_model_refuses_a_codec_it_was_not_trained_on_in_one_line() -> None:
    with pytest.raises(ValueError, match="trained on x264, x265, vvenc, not jpeg") as error:
        codec_index("jpeg")
    assert "\n" not in str(error.value) and "--codecs" in str(error.value)
    with pytest.raises(ValueError, match="knows only x264, x265, vvenc"):
        condition_batch(torch.eye(6)[:2], torch.tensor([0.1, 0.2]))
    assert condition_batch(torch.eye(6)[:2], torch.tensor([0.1, 0.2]), None).shape == (2, 7)


def test_condition_rejects_unknown_codec_and_bad_rate() -> None:
    with pytest.raises(ValueError, match="av1"):
        condition_vector("av1", 0.3)
    with pytest.raises(ValueError, match="bpp"):
        condition_vector("x264", float("nan"))


def test_prompt_is_the_official_format_and_the_paper_format_on_request() -> None:
    assert condition_prompt("x265", 0.14) == "A libx265 0.1400 bpp compressed image."
    assert condition_prompt("vvenc", 0.256) == "A libx266 0.2560 bpp compressed image."
    assert condition_prompt("x264", 0.3, "paper") == "A {libx264} {0.3} bpp compressed image."
    assert condition_prompt("vvenc", 0.256, "paper") == "A {libvvenc} {0.26} bpp compressed image."
    with pytest.raises(ValueError, match="official, paper"):
        condition_prompt("x264", 0.3, "braces")


def test_batch_helpers_agree_with_single_ones() -> None:
    onehot = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    bpp = torch.tensor([0.3, 0.05])
    assert torch.equal(condition_batch(onehot, bpp)[1], condition_vector("vvenc", 0.05))
    assert condition_prompts(onehot, bpp) == [condition_prompt("x264", 0.3), condition_prompt("vvenc", 0.05)]
    with pytest.raises(ValueError, match="bpp"):
        condition_batch(onehot, torch.tensor([0.3]))


@pytest.mark.parametrize(("dims", "width"), [(64, 256), (16, 64)])
def test_embedding_width_and_range(dims: int, width: int) -> None:
    embedding = SinusoidalEmbedding(dims)
    out = embed_conditions(embedding, ["x264", "vvenc"], [0.3, 0.31])
    assert out.shape == (2, width) == (2, embedding.output_dim())
    assert out.abs().max() <= 1.0
    # the codec and the bpp chunks differ between the two conditions; nearby rates stay distinguishable
    assert not torch.allclose(out[0, :dims], out[1, :dims])
    assert (out[0, 3 * dims :] - out[1, 3 * dims :]).abs().max() > 0.1


def test_each_scalar_has_its_own_chunk() -> None:
    embedding = SinusoidalEmbedding(8)
    a = embedding(torch.tensor([[1.0, 0.0, 0.0, 0.3]]))
    b = embedding(torch.tensor([[1.0, 0.0, 0.0, 0.9]]))
    assert torch.equal(a[:, :24], b[:, :24]) and not torch.equal(a[:, 24:], b[:, 24:])
    with pytest.raises(ValueError):
        SinusoidalEmbedding(7)
