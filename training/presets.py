"""Paper presets (configs/paper/*.json): TrainConfig fields plus ``global_batch_size``, which becomes
gradient accumulation for whatever per-process batch and number of processes a run has."""

from __future__ import annotations

from pathlib import Path

PAPER_PRESETS = Path(__file__).resolve().parent.parent / "configs" / "paper"


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
