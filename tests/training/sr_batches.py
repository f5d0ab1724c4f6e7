"""Stage-2 batches built the way the loader's items are, from photo crops, and tiny models for the SR tests.

Each item: clean crop X; lq = the s3diff degradation of X (seeded by key); codec_out / codec_out_slight =
the real codec at QP q and q - 10; bpp / bpp_slight their rates; the prompt of (codec, bpp).
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from codec_bindings import encode
from pipeline.degrade import degrade, rng_for_sample
from training.condition import codec_onehot, condition_prompt
from training.models.rrdbnet import RRDBNet
from training.models.small_simulator import SmallSimulator


@functools.lru_cache(maxsize=8)
def sr_batches(
    photo_dir: Path,
    crops: int,
    batch_size: int,
    size: int = 32,
    first_image: int = 0,
    codecs: tuple[str, ...] = ("x264", "x265"),
    qps: tuple[int, ...] = (30, 36),
    upsample_lq: bool = False,
    seed: int = 0,
) -> tuple[dict, ...]:
    """Batches of `crops` items (codecs and QPs cycle over the crops); cached, so treat them as read-only."""
    rng = np.random.default_rng(100 + first_image)
    paths = sorted(Path(photo_dir).glob("*.png"))
    items = []
    for index in range(crops):
        picture = np.asarray(Image.open(paths[(first_image + index) % len(paths)]).convert("RGB"))
        top, left = rng.integers(0, picture.shape[0] - size), rng.integers(0, picture.shape[1] - size)
        clean = np.ascontiguousarray(picture[top : top + size, left : left + size])
        key = f"{paths[(first_image + index) % len(paths)].stem}-{top}-{left}"
        lq, _ = degrade(clean, "s3diff", rng_for_sample(key, seed))
        if upsample_lq:
            lq = cv2.resize(lq, (size, size), interpolation=cv2.INTER_CUBIC)
        codec, qp = codecs[index % len(codecs)], qps[(index // len(codecs)) % len(qps)]
        main, slight = encode(clean, codec, qp=qp), encode(clean, codec, qp=qp - 10)
        items.append(
            {
                "clean": clean,
                "lq": lq,
                "codec_out": main.recon,
                "codec_out_slight": slight.recon,
                "codec": codec,
                "bpp": main.bpp,
                "bpp_slight": slight.bpp,
                "key": key,
            }
        )

    def planar(name: str, group: list[dict]) -> torch.Tensor:
        return torch.from_numpy(np.stack([item[name] for item in group])).permute(0, 3, 1, 2).float() / 255.0

    batches = []
    for start in range(0, crops, batch_size):
        group = items[start : start + batch_size]
        batch = {name: planar(name, group) for name in ("clean", "lq", "codec_out", "codec_out_slight")}
        batch["codec_onehot"] = torch.stack([codec_onehot(item["codec"]) for item in group])
        batch["bpp"] = torch.tensor([item["bpp"] for item in group], dtype=torch.float32)
        batch["bpp_slight"] = torch.tensor([item["bpp_slight"] for item in group], dtype=torch.float32)
        batch["prompt"] = [condition_prompt(item["codec"], item["bpp"]) for item in group]
        batch["key"] = [item["key"] for item in group]
        batches.append(batch)
    return tuple(batches)


def tiny_generator(scale: int = 4, codec_aware: bool = True) -> RRDBNet:
    torch.manual_seed(3)
    return RRDBNet(scale=scale, num_feat=8, num_block=2, num_grow_ch=4, codec_aware=codec_aware, dims_per_scalar=8)


def tiny_simulator() -> SmallSimulator:
    """A small simulator whose zero-initialised layers are perturbed: not the identity, and conditional."""
    torch.manual_seed(4)
    simulator = SmallSimulator(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    with torch.no_grad():
        simulator.conv_out[-1].weight.normal_(0, 0.05)
        for mlp in simulator.film.mlps:
            mlp[-1].weight.normal_(0, 0.05)
    return simulator
