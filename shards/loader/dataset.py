"""ShardDataset: the IterableDataset behind open_dataset (epochs, resume state, the per-worker stream).

A worker's stream: its blocks (plan) -> reader threads run read_groups -> zip_groups ->
sample_condition per shard (only what the items need stays in memory) -> the block is permuted ->
decode_pictures -> random_crop -> to_tensors. The next block loads while this one decodes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import torch
from torch.utils.data import IterableDataset, get_worker_info

from codec_bindings import PAPER_CODECS, CodecError
from shards.errors import ShardError
from shards.layout import BASE_GROUP, shard_path
from shards.loader.condition import ConditionSpec, Selection, sample_condition
from shards.loader.plan import block_owners, block_permutation, epoch_blocks, resampled_blocks, rng_for
from shards.loader.progress import STATE_VERSION, EpochProgress, resume_position, worker_role
from shards.loader.stages import (
    KEY,
    decode_pictures,
    parse_groups,
    random_crop,
    read_group_bytes,
    to_tensors,
    zip_groups,
)
from shards.storage import Storage

LOG = logging.getLogger("shards.loader")
# Added to items made in a loader worker: [worker id, shards skipped, samples skipped] so far in that worker;
# ShardLoader takes it out of each batch and sums the counts over workers (``ShardLoader.skips``).
WORKER_SKIPS = "worker_skips"
# What bad data raises: skipped and counted. Anything else is a bug and propagates.
DATA_ERRORS = (ShardError, CodecError, OSError, ValueError, KeyError, TypeError, EOFError)


@dataclass
class SkipCounter:
    shards: int = 0
    samples: int = 0

    def skip_shard(self, shard: str, error: BaseException) -> None:
        self.shards += 1
        LOG.warning(
            "skipped shard %s: %s: %s (skipped so far here: %d shards, %d samples)",
            shard,
            type(error).__name__,
            error,
            self.shards,
            self.samples,
        )

    def skip_sample(self, key: str, error: BaseException) -> None:
        self.samples += 1
        LOG.warning(
            "skipped sample %s: %s: %s (skipped so far here: %d shards, %d samples)",
            key,
            type(error).__name__,
            error,
            self.shards,
            self.samples,
        )


class ShardDataset(IterableDataset):
    """Items of one rank; each iteration is the next epoch (or an endless stream when resampled).

    Made by open_dataset. state_dict()/load_state_dict() save and restore (epoch, position); the
    position is exact when the dataset is iterated in-process or through ShardLoader.
    """

    def __init__(
        self,
        *,
        root: str,
        shards: list[int],
        groups: tuple[str, ...],
        condition: ConditionSpec,
        crop: int | None,
        seed: int,
        storage_options: dict | None,
        rank: int,
        world_size: int,
        resampled: bool,
        shards_per_block: int,
        shuffle: bool,
        upsample_lq: bool,
        picture_dtype: torch.dtype,
        read_threads: int,
        retry_seconds: float,
        identity: dict[str, str],
        onehot_codecs: tuple[str, ...] = PAPER_CODECS,
    ) -> None:
        super().__init__()
        self.onehot_codecs = onehot_codecs  # the codec one-hot's positions (x264, x265, vvenc, then the dataset's)
        self.retry_seconds = retry_seconds
        self.identity = identity  # {group: config hash} of what is read: which data this is, wherever it lives
        self.root, self.shards, self.groups, self.condition = root, shards, groups, condition
        self.weights = condition.resolved(groups)
        self.crop, self.seed, self.storage_options = crop, seed, storage_options
        self.rank, self.world_size, self.resampled = rank, world_size, resampled
        self.shards_per_block, self.shuffle, self.read_threads = shards_per_block, shuffle, read_threads
        self.upsample_lq, self.picture_dtype = upsample_lq, picture_dtype
        self.skips = SkipCounter()
        self._epoch = 0  # the epoch the next iteration runs
        self._resume: dict | None = None  # position within self._epoch to resume from
        self._progress: EpochProgress | None = None  # the epoch in progress, tracked in the main process

    def settings(self) -> dict:
        """What decides the items and their order (recorded by trainers; a resume must not change it)."""
        return {
            "dataset": self.identity,
            "groups": list(self.groups),
            **({"onehot_codecs": list(self.onehot_codecs)} if self.onehot_codecs != PAPER_CODECS else {}),
            "qp_range": list(self.condition.qp_range),
            "codec_weights": dict(self.condition.codec_weights or {}),
            "slight_qp_offset": self.condition.slight_qp_offset,
            "prompt_format": self.condition.prompt_format,
            "crop": self.crop,
            "seed": self.seed,
            "world_size": self.world_size,
            "resampled": self.resampled,
            "shards_per_block": self.shards_per_block,
            "shuffle": self.shuffle,
            "upsample_lq": self.upsample_lq,
            "picture_dtype": str(self.picture_dtype).removeprefix("torch."),
            "num_shards": len(self.shards),
        }

    # ---- epochs and state -------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run ``epoch`` from its start (iterations otherwise count epochs themselves)."""
        self._epoch, self._resume, self._progress = epoch, None, None

    def state_dict(self) -> dict:
        identity = {
            "version": STATE_VERSION,
            "seed": self.seed,
            "rank": self.rank,
            "world_size": self.world_size,
            "resampled": self.resampled,
            "num_shards": len(self.shards),
        }
        if self._progress is not None:
            return {**identity, **self._progress.state()}
        if self._resume is not None:
            return {
                **identity,
                **{
                    name: self._resume[name]
                    for name in ("epoch", "samples_seen", "num_workers", "next_worker", "positions")
                },
            }
        return {
            **identity,
            "epoch": self._epoch,
            "samples_seen": 0,
            "num_workers": None,
            "next_worker": 0,
            "positions": None,
        }

    def load_state_dict(self, state: dict) -> None:
        for name in ("version", "seed", "rank", "world_size", "resampled", "num_shards"):
            if state.get(name) != self.state_dict()[name]:
                raise ShardError(
                    f"cannot resume: the state has {name}={state.get(name)!r}, this loader {self.state_dict()[name]!r}"
                )
        self._epoch, self._progress = int(state["epoch"]), None
        self._resume = dict(state) if state["samples_seen"] else None

    def record_consumed(self, keys: str | Sequence[str]) -> None:
        """Tell the dataset which items the training loop received (ShardLoader does this for you)."""
        if self._progress is not None:
            self._progress.record([keys] if isinstance(keys, str) else keys)

    def begin_tracking(self, num_workers: int) -> tuple[int, dict | None]:
        """Start the next epoch's bookkeeping here (ShardLoader calls it once its workers hold their copies)."""
        epoch, resume = self._start_epoch()
        resume_position(resume, 0, num_workers)  # refuses a state saved with another worker count
        owners = (
            None
            if self.resampled
            else block_owners(
                self.shards,
                seed=self.seed,
                epoch=epoch,
                rank=self.rank,
                world_size=self.world_size,
                num_workers=num_workers,
                shards_per_block=self.shards_per_block,
                shuffle=self.shuffle,
            )
        )
        self._progress = EpochProgress(epoch, num_workers, owners, resume)
        return epoch, resume

    def end_tracking(self) -> None:
        """The epoch ran to its end: the state now points at the start of the next one."""
        self._progress = None

    def _start_epoch(self) -> tuple[int, dict | None]:
        epoch, resume = self._epoch, self._resume if self._resume and self._resume["epoch"] == self._epoch else None
        self._epoch, self._resume = epoch + 1, None
        return epoch, resume

    # ---- iteration --------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        # In-process, the dataset tracks what it hands out; in a worker, ShardLoader tracks it in the main process.
        epoch, resume = self.begin_tracking(1) if info is None else self._start_epoch()
        if info is not None:
            cv2.setNumThreads(1)  # one core per loader worker, as torch does for its own threads in workers
        for item in self._items(epoch, resume, worker_role(resume, worker, num_workers), num_workers):
            if info is None:
                self._progress.record([item[KEY]])
            else:
                item[WORKER_SKIPS] = torch.tensor([worker, self.skips.shards, self.skips.samples])
            yield item
        if info is None:
            self.end_tracking()

    def _items(self, epoch: int, resume: dict | None, worker: int, num_workers: int) -> Iterator[dict]:
        storage = Storage(self.root, self.storage_options, self.retry_seconds)
        # A resampled stream is named by the epoch and how much was seen before it: a resumed run draws anew.
        stream = f"{epoch}.{resume['samples_seen'] if resume else 0}" if self.resampled else None
        if stream is not None:
            blocks = resampled_blocks(
                self.shards,
                seed=self.seed,
                stream=stream,
                rank=self.rank,
                worker=worker,
                shards_per_block=self.shards_per_block,
            )
            start_block, consumed = 0, frozenset()
        else:
            start_block, consumed = resume_position(resume, worker, num_workers)
            blocks = enumerate(
                epoch_blocks(
                    self.shards,
                    seed=self.seed,
                    epoch=epoch,
                    rank=self.rank,
                    world_size=self.world_size,
                    worker=worker,
                    num_workers=num_workers,
                    shards_per_block=self.shards_per_block,
                    shuffle=self.shuffle,
                )
            )
        todo = ((index, block) for index, block in blocks if index >= start_block)
        pool = ThreadPoolExecutor(self.read_threads, thread_name_prefix="shard-read")
        try:
            pending = self._submit(pool, storage, next(todo, None), epoch, stream, worker)
            while pending is not None:
                block_index, condition_epoch, futures = pending
                pending = self._submit(
                    pool, storage, next(todo, None), epoch, stream, worker
                )  # the next block loads meanwhile
                selections = []
                for future in futures:
                    loaded, skipped = future.result()
                    selections += loaded
                    for kind, name, error in skipped:
                        (self.skips.skip_shard if kind == "shard" else self.skips.skip_sample)(name, error)
                order = (
                    block_permutation(len(selections), self.seed, condition_epoch, self.rank, worker, block_index)
                    if self.shuffle
                    else range(len(selections))
                )
                for position in order:
                    selection, selections[position] = selections[position], None
                    if block_index == start_block and selection.key in consumed:
                        continue
                    item = self._make_item(selection, condition_epoch)
                    if item is not None:
                        yield item
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        storage: Storage,
        block: tuple[int, list[int]] | None,
        epoch: int,
        stream: str | None,
        worker: int,
    ):
        """Start loading the shards of a block in the reader threads: (block index, condition epoch, futures)."""
        if block is None:
            return None
        block_index, indices = block
        # Resampled blocks draw shards again and again: each draw gets its own conditions and crops.
        condition_epoch: int | str = epoch if stream is None else f"{stream}.{self.rank}.{worker}.{block_index}"
        return (
            block_index,
            condition_epoch,
            [pool.submit(self._load_shard, storage, index, condition_epoch) for index in indices],
        )

    def _load_shard(self, storage: Storage, index: int, epoch: int | str) -> tuple[list[Selection], list[tuple]]:
        """Stages read_groups -> zip_groups -> sample_condition for one shard (in a reader thread, so that only
        the members the items need stay in memory). Returns (selections, skipped things to count and log)."""
        shard = storage.url(shard_path(BASE_GROUP, index))
        try:
            raw = {group: read_group_bytes(storage, group, index) for group in (BASE_GROUP, *self.groups)}
            zipped = zip_groups(parse_groups(storage, index, raw), shard)
        except DATA_ERRORS as error:
            return [], [("shard", shard, error)]
        selections, skipped = [], []
        for key, members in zipped:
            try:
                selections.append(sample_condition(key, members, self.condition, self.weights, self.seed, epoch, shard))
            except DATA_ERRORS as error:
                skipped.append(("sample", key, error))
        return selections, skipped

    def _make_item(self, selection: Selection, epoch: int | str) -> dict | None:
        """Stages decode_pictures -> random_crop -> to_tensors; None (counted, logged) for a corrupt sample."""
        try:
            pictures = decode_pictures(selection)
            cropped = random_crop(pictures, self.crop, rng_for(self.seed, epoch, selection.key, "crop"), selection.key)
            return to_tensors(cropped, selection, self.upsample_lq, self.picture_dtype, self.onehot_codecs)
        except DATA_ERRORS as error:
            self.skips.skip_sample(selection.key, error)
            return None
