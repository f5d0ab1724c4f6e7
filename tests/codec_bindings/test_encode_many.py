"""encode_many: the QP grid of many pictures, identical to one encode per picture."""

from __future__ import annotations

import pytest

from codec_bindings import encode, encode_many
from tests.codec_bindings.helpers import crop, load_rgb


@pytest.mark.parametrize("codec", ["x264", "x265", "vvenc"])
def test_batched_grid_equals_single_encodes(codec, photo_dir):
    images = [crop(load_rgb(photo_dir / f"{name}.png"), 128, 200, 200) for name in ("astronaut", "chelsea", "coffee")]
    images.append(crop(load_rgb(photo_dir / "hubble_deep_field.png"), 96, 0, 0))  # a second size: its own batch
    qps = [28, 41]
    grid = encode_many(images, codec, qps)
    assert len(grid) == len(images) and all(len(row) == len(qps) for row in grid)
    for image, row in zip(images, grid):
        for qp, batched in zip(qps, row):
            alone = encode(image, codec, qp=qp)
            assert batched.bitstream == alone.bitstream, f"{codec} qp {qp}: batched bytes differ from a single encode"
            assert (batched.recon == alone.recon).all()
            assert batched.qp == qp and batched.bpp == alone.bpp


def test_vvenc_batch_longer_than_one_process(photo_dir, monkeypatch):
    import codec_bindings.vvenc as vvenc_module

    monkeypatch.setattr(vvenc_module, "MAX_PICTURES_PER_PROCESS", 2)
    images = [crop(load_rgb(photo_dir / f"{name}.png"), 64, 300, 300) for name in ("ihc", "motorcycle", "retina")]
    grid = encode_many(images, "vvenc", [35])
    for image, row in zip(images, grid):
        assert row[0].bitstream == encode(image, "vvenc", qp=35).bitstream
