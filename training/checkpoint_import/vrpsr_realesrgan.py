"""VRPSR's vrpsr_realesrgan.pkl (the recompression-aware Real-ESRGAN, RRDBNetEmbeddingProj) -> an SR checkpoint.

The published file pickles the whole nn.Module, which we do not unpickle: it is refused with the
one-line conversion to its state dict (run where the official code is installed), and that state
dict is what this importer reads. Keys: Real-ESRGAN's, plus per RRDB ``eb1`` / ``eb2`` (Linear-SiLU-
Linear on the 4 x 16 timestep embedding of [one-hot, kB]) -> our ``codec_heads.0`` / ``codec_heads.1``.
Recorded: scale 1 (LQ upsampled to the output, pixel-unshuffle 4), embedding "vrpsr", units official-kB,
and the official forward and inference: long skip "vrpsr-official" (trunk + conv_body(trunk)) and output
mapping "vrpsr-official" (clamp(-1, 1) * 0.5 + 0.5 before the codec, as its inference does).
"""

from __future__ import annotations

import re
from pathlib import Path

from torch import nn

from training.checkpoint_import.common import load_into, prefixed, read_tensors_only, tensors_of, write_checkpoint
from training.models.rrdbnet import RRDBNet

CONVERT = (
    "Convert it once where the official VRPSR code is installed (its src/ on sys.path): python -c "
    "\"import torch; torch.save(torch.load('VRPSR_realesrgan.pkl', weights_only=False).state_dict(), "
    "'vrpsr_realesrgan_state.pth')\" and import that file."
)
HEAD_KEY = re.compile(r"^body\.(\d+)\.eb([12])\.(.+)$")
GENERATOR = {
    "backbone": "rrdbnet",
    "scale": 1,
    "num_feat": 64,
    "num_block": 23,
    "num_grow_ch": 32,
    "embed": True,
    "rrdbnet_embedding": "vrpsr",
    "condition_units": "official-kB",
    "long_skip": "vrpsr-official",
    "output_mapping": "vrpsr-official",
}


def official_rrdbnet(num_block: int = 23) -> RRDBNet:
    return RRDBNet(
        scale=1, num_block=num_block, embedding="vrpsr", condition_units="official-kB", long_skip="vrpsr-official"
    )


def map_realesrgan(state: dict) -> dict:
    mapped = {}
    for name, tensor in state.items():
        match = HEAD_KEY.match(name)
        mapped[f"body.{match[1]}.codec_heads.{int(match[2]) - 1}.{match[3]}" if match else name] = tensor
    return mapped


def import_vrpsr_realesrgan(file: str | Path, out: str | Path, *, model: nn.Module | None = None, **_: object) -> Path:
    """`model`: a smaller official_rrdbnet (tests); the published one has 23 blocks."""
    content = read_tensors_only(file, CONVERT)
    state = content.get("params_ema", content.get("params", content))
    model = model if model is not None else official_rrdbnet()
    load_into(model, map_realesrgan(tensors_of(state, str(file))), str(file))
    generator = {**GENERATOR, "num_block": len(model.body)}
    return write_checkpoint(
        out,
        prefixed(model.state_dict(), "generator."),
        {"generator": generator, "imported": "vrpsr_realesrgan"},
        "vrpsr_realesrgan",
        [file],
    )
