"""Which process this is, known before any model or loader exists (torchrun / accelerate launch)."""

from __future__ import annotations

import torch
from accelerate import PartialState


def process_rank_and_world() -> tuple[int, int]:
    """(rank, world size) of this training process: accelerate's PartialState reads the launcher's
    environment and starts the process group (gloo on CPU, NCCL on GPUs); (0, 1) when run alone. The
    Accelerator made later by the training loop shares this state."""
    state = PartialState(cpu=not torch.cuda.is_available())
    return state.process_index, state.num_processes
