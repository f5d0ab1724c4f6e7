"""Stage-1 batches with the slice QP (as the loader's items carry it), from the test photographs."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from codec_bindings import encode
from training.condition import codec_onehot, condition_prompt


@functools.lru_cache(maxsize=4)
def qp_batches(
    photo_dir: Path,
    crops: int = 8,
    batch_size: int = 4,
    size: int = 64,
    codecs: tuple[str, ...] = ("x264", "x265"),
    qps: tuple[int, ...] = (27, 37, 47),
) -> tuple[dict, ...]:
    """Batches of clean / codec_out crops with codec_onehot, bpp, qp and prompt; cached (treat as read-only)."""
    rng = np.random.default_rng(11)
    paths = sorted(Path(photo_dir).glob("*.png"))
    items = []
    for index in range(crops):
        picture = np.asarray(Image.open(paths[index % len(paths)]).convert("RGB"))
        top, left = rng.integers(0, picture.shape[0] - size), rng.integers(0, picture.shape[1] - size)
        clean = np.ascontiguousarray(picture[top : top + size, left : left + size])
        codec, qp = codecs[index % len(codecs)], qps[index % len(qps)]
        items.append((clean, encode(clean, codec, qp=qp), codec, qp))
    batches = []
    for start in range(0, crops, batch_size):
        group = items[start : start + batch_size]
        batches.append(
            {
                "clean": torch.from_numpy(np.stack([g[0] for g in group])).permute(0, 3, 1, 2).float() / 255.0,
                "codec_out": torch.from_numpy(np.stack([g[1].recon for g in group])).permute(0, 3, 1, 2).float()
                / 255.0,
                "codec_onehot": torch.stack([codec_onehot(g[2]) for g in group]),
                "bpp": torch.tensor([g[1].bpp for g in group], dtype=torch.float32),
                "qp": torch.tensor([float(g[3]) for g in group]),
                "prompt": [condition_prompt(g[2], g[1].bpp) for g in group],
            }
        )
    return tuple(batches)
