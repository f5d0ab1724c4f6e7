"""Which process this is, known before any model or loader exists (torchrun / accelerate launch), and
the run's totals gathered over the ranks."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from accelerate import PartialState
from accelerate.utils import gather_object


def process_rank_and_world() -> tuple[int, int]:
    """(rank, world size) of this training process: accelerate's PartialState reads the launcher's
    environment and starts the process group (gloo on CPU, NCCL on GPUs); (0, 1) when run alone. The
    Accelerator made later by the training loop shares this state."""
    state = PartialState(cpu=not torch.cuda.is_available())
    return state.process_index, state.num_processes


def mean_over_ranks(losses: dict[str, float]) -> dict[str, float]:
    """Each loss averaged over the ranks (every rank calls this; a single process gets its own back)."""
    gathered = gather_object([losses])
    return {name: sum(part[name] for part in gathered) / len(gathered) for name in losses}


def skipped_over_ranks(batches: Iterable) -> tuple[int, int]:
    """(shards, samples) the loaders of all ranks skipped as corrupt; (0, 0) for other batch iterables."""
    skips = getattr(batches, "skips", None)
    counts = gather_object([(skips.shards, skips.samples) if skips is not None else (0, 0)])
    return sum(shards for shards, _ in counts), sum(samples for _, samples in counts)
