"""Where a rank is in its epoch: the state that state_dict() saves and a resumed loader skips.

Each loader worker reads its blocks in order, and a DataLoader hands a worker's items to the
training loop in the order the worker made them, so what a rank has consumed from worker w is a
prefix of w's stream: every block before some block b, and some keys of b. The position of w is
(b, those keys). The main process learns the consumed keys from the batches (ShardLoader), maps
each key to (worker, block) with the same plan the workers use, and so knows every position
without talking to the workers. It also knows which worker made the last batch: a DataLoader hands
batches out round robin over its live workers, always starting at worker 0, so a resumed epoch rotates
the workers' roles (process i plays worker (i + next_worker) mod n) and the batches come in the order
the interrupted run would have seen them. In resampled mode only the count matters: a resumed stream is
drawn afresh from a stream name that includes the count, so it does not replay what was seen.
"""

from __future__ import annotations

from collections.abc import Iterable

from shards.errors import ShardError
from shards.loader.plan import shard_of_key

STATE_VERSION = 1


class EpochProgress:
    """Consumption of one epoch by one rank; ``owners`` maps shard -> (worker, block) (None when resampled)."""

    def __init__(
        self, epoch: int, num_workers: int, owners: dict[int, tuple[int, int]] | None, resume: dict | None = None
    ) -> None:
        self.epoch = epoch
        self.num_workers = num_workers
        self.owners = owners
        self.samples_seen = int(resume["samples_seen"]) if resume else 0
        saved = resume.get("positions") if resume else None
        self.positions: list[list] = (
            [[int(block), list(keys)] for block, keys in saved] if saved else [[0, []] for _ in range(num_workers)]
        )
        self.next_worker = int(resume.get("next_worker", 0)) if resume else 0

    def record(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.samples_seen += 1
            if self.owners is None:
                continue
            owner = self.owners.get(shard_of_key(key))
            if owner is None:
                raise ShardError(f"consumed key {key} belongs to no shard of this rank's epoch {self.epoch} plan")
            worker, block = owner
            self.next_worker = (worker + 1) % self.num_workers
            position = self.positions[worker]
            if block > position[0]:
                position[0], position[1] = block, [key]
            elif block == position[0]:
                position[1].append(key)

    def state(self) -> dict:
        positions = None if self.owners is None else [[block, list(keys)] for block, keys in self.positions]
        return {
            "epoch": self.epoch,
            "samples_seen": self.samples_seen,
            "num_workers": self.num_workers,
            "next_worker": self.next_worker,
            "positions": positions,
        }


def resume_position(resume: dict | None, worker: int, num_workers: int) -> tuple[int, frozenset[str]]:
    """(first block to read, keys of that block already consumed) for ``worker``; (0, {}) without a resume state."""
    if not resume or not resume.get("positions"):
        return 0, frozenset()
    if resume["num_workers"] != num_workers:
        raise ShardError(
            f"the resume state was saved with {resume['num_workers']} loader workers, this loader has {num_workers}: "
            "resume with the same num_workers (and world size)"
        )
    block, keys = resume["positions"][worker]
    return int(block), frozenset(keys)


def worker_role(resume: dict | None, worker: int, num_workers: int) -> int:
    """Which worker's stream the worker process `worker` makes: rotated in a resumed epoch (see above)."""
    return (worker + int(resume.get("next_worker", 0))) % num_workers if resume else worker
