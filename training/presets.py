"""Paper presets (configs/paper/*.json): TrainConfig fields plus ``global_batch_size``, which becomes
gradient accumulation for whatever per-process batch and number of processes a run has, and the data
fields (DATA_FIELDS: ``crop``), which go to the loader's DataConfig unless a flag overrides them.

The presets, after the VRPSR supplement (A.1): simulator 60 000 updates, S3Diff SR 20 000, Real-ESRGAN SR
40 000, each at a global batch of 64, lr 2e-5 (warm-up + cosine), 512 x 512 crops, with S3Diff's loss
(LPIPS(vgg), the vision-aided DINO discriminator, ``gan_loss`` "sigmoid-0.8", D loss x 0.5, ``gan_step``
"separate"); ``realesrgan_pretrain`` is the same regime at Real-ESRGAN's official lr 1e-4 and names no step
count (give --steps).
"""

from __future__ import annotations

from pathlib import Path

PAPER_PRESETS = Path(__file__).resolve().parent.parent / "configs" / "paper"
DATA_FIELDS = ("crop",)  # preset fields for the loader (DataConfig), not for TrainConfig


def split_data_fields(fields: dict) -> tuple[dict, dict]:
    """(TrainConfig fields, DataConfig fields) of a --config file's fields."""
    train = {name: value for name, value in fields.items() if name not in DATA_FIELDS}
    return train, {name: value for name, value in fields.items() if name in DATA_FIELDS}


def accumulation_for(global_batch_size: int, batch_size: int, world_size: int) -> int:
    """Updates of global_batch_size pictures: accumulate global / (batch_size x world_size) batches."""
    per_step = batch_size * world_size
    if global_batch_size <= 0 or global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size {global_batch_size} is not a multiple of --batch-size {batch_size} x "
            f"{world_size} process(es) = {per_step}: choose a batch size that divides it"
        )
    return global_batch_size // per_step


def resolve_global_batch(fields: dict, batch_size: int) -> dict:
    """`fields` with ``global_batch_size`` (if any) turned into ``gradient_accumulation_steps``."""
    if "global_batch_size" not in fields:
        return fields
    from training.distributed import process_rank_and_world

    fields = dict(fields)
    global_batch_size = int(fields.pop("global_batch_size"))
    if "gradient_accumulation_steps" in fields:
        raise ValueError("give global_batch_size or gradient_accumulation_steps in --config, not both")
    fields["gradient_accumulation_steps"] = accumulation_for(global_batch_size, batch_size, process_rank_and_world()[1])
    return fields
