"""The streaming loader: shards (local folder or s3://) -> training items, as a chain of named stages.

    list_shards -> split_by_node -> split_by_worker -> blocks        (plan.py)
    read_groups -> zip_groups -> sample_condition -> shuffle block   (stages.py, condition.py)
    decode_pictures -> random_crop -> to_tensors                     (stages.py)
    the per-worker stream, epochs and resume state                   (dataset.py, progress.py)

Usage (one rank; under accelerate each process opens its own with its rank):

    dataset = open_dataset("s3://bucket/data", groups=("x264", "vvenc"), crop=512, seed=0,
                           condition=ConditionSpec(codec_weights={"x264": 2, "vvenc": 1}, qp_range=(30, 44)))
    loader = ShardLoader(dataset, batch_size=8, num_workers=6)   # a DataLoader that reports progress
    for batch in loader: ...
    checkpoint["data"] = loader.state_dict()      # later: loader.load_state_dict(checkpoint["data"])

Do not give the loader to ``accelerator.prepare``: it already splits by rank (accelerate would dispatch
or re-split its batches); move batches to the device yourself. A corrupt shard or member is skipped,
counted (``dataset.skips`` in-process) and logged on the ``shards.loader`` logger, never raised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader

from codec_bindings import get_codec
from shards.dataset_info import require_dataset_info
from shards.errors import ShardError
from shards.layout import BASE_GROUP, CODEC_GROUPS, recorded_grid
from shards.loader.condition import ConditionSpec, onehot_codecs
from shards.loader.dataset import LOG, WORKER_SKIPS, ShardDataset, SkipCounter
from shards.loader.plan import list_shards, shard_index_of_url
from shards.loader.stages import ITEM_FIELDS, KEY
from shards.qp_pairs import PAIRED_GRID_EXAMPLE
from shards.storage import RETRY_SECONDS, Storage

__all__ = ["ITEM_FIELDS", "ConditionSpec", "ShardDataset", "ShardLoader", "SkipCounter", "open_dataset"]


class ShardLoader(DataLoader):
    """A DataLoader over a ShardDataset that tells the dataset what each batch held, so that
    state_dict() is exact with worker processes too; otherwise an ordinary DataLoader."""

    def __init__(self, dataset, *args, **kwargs) -> None:
        # Fork after the parent has run decoder/OpenCV/reader threads can deadlock a worker on an inherited
        # lock (seen: workers stuck in futex wait); forkserver workers start clean.
        if kwargs.get("num_workers", 0) > 0 and kwargs.get("multiprocessing_context") is None:
            kwargs["multiprocessing_context"] = "forkserver"
        super().__init__(dataset, *args, **kwargs)
        self._worker_skips: dict[int, tuple[int, int]] = {}  # worker -> (shards, samples) skipped there so far

    @property
    def skips(self) -> SkipCounter:
        """Shards and samples skipped as corrupt, summed over this loader's worker processes (or in-process)."""
        if self.num_workers == 0:
            return self.dataset.skips  # type: ignore[attr-defined]
        return SkipCounter(
            sum(shards for shards, _ in self._worker_skips.values()),
            sum(samples for _, samples in self._worker_skips.values()),
        )

    def settings(self) -> dict:
        """The data settings that decide which items come in which order (for a trainer's recorded config)."""
        return {
            **self.dataset.settings(),
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,  # type: ignore[attr-defined]
            "drop_last": self.drop_last,
        }

    def __iter__(self):
        dataset: ShardDataset = self.dataset  # type: ignore[assignment]
        if self.num_workers == 0:  # the dataset runs in this process and tracks itself
            yield from super().__iter__()
            return
        iterator = super().__iter__()  # workers now hold their copy of the dataset (epoch, resume state)
        dataset.begin_tracking(self.num_workers)
        for batch in iterator:
            keys = batch[KEY] if isinstance(batch, dict) else None
            if keys is None:
                raise ShardError(f"ShardLoader needs batches that are dicts with a {KEY!r} entry (the default collate)")
            dataset.record_consumed(keys)
            counts = batch.pop(WORKER_SKIPS, None)
            if counts is not None:  # a batch is made by one worker; its last item has the latest counts
                worker, shards, samples = (int(value) for value in counts[-1])
                self._worker_skips[worker] = (shards, samples)
            yield batch
        dataset.end_tracking()

    def state_dict(self) -> dict:
        return self.dataset.state_dict()  # type: ignore[attr-defined]

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state)  # type: ignore[attr-defined]


def open_dataset(
    root_or_urls: str | Sequence[str],
    groups: Sequence[str] | None = None,
    condition: ConditionSpec | None = None,
    crop: int | None = None,
    seed: int = 0,
    storage_options: dict | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    resampled: bool = False,
    shuffle_buffer: int = 512,
    upsample_lq: bool = False,
    picture_dtype: torch.dtype = torch.float32,
    read_threads: int = 4,
    retry_seconds: float = RETRY_SECONDS,
) -> ShardDataset:
    """A ShardDataset over a dataset root (local or s3://) or a list of its base shard URLs.

    groups: codec groups to read (default: all in dataset.json); condition: codecs, weights, QP range;
    crop: side of the clean crop (None: whole pictures); rank/world_size: default from torch.distributed;
    resampled: endless stream of shards drawn with replacement; shuffle_buffer: samples shuffled together
    (rounded up to whole shards; 0 = read in order, no shuffling). Memory per worker: about two blocks of
    (clean PNG + lq PNG + two bitstreams), i.e. ~2 x shuffle_buffer x 0.5 MB for 512² samples.
    upsample_lq: lq bicubically upsampled to the crop size (scale-1 backbones); picture_dtype: float32 in
    [0, 1] (default) or uint8 (scale on the GPU; ~1.4x the items/s through DataLoader workers).
    retry_seconds: how long an object-store outage is waited out (with backoff) before the read fails;
    outages are never turned into skipped data.
    """
    root, chosen = _resolve_source(root_or_urls)
    storage = Storage(root, storage_options, retry_seconds)
    info = require_dataset_info(storage)
    facts = _dataset_facts(info, root)
    available = tuple(group for group in CODEC_GROUPS if group in facts["groups"])
    groups = tuple(group for group in (groups or available) if group != BASE_GROUP)
    unknown = [group for group in groups if group not in available]
    if unknown or not groups:
        raise ShardError(f"{root}: asked for codec groups {list(groups)}, the dataset has {list(available)}")
    condition = condition or ConditionSpec()
    for codec, _ in condition.resolved(groups):
        if get_codec(codec).rate_parameter != "qp":
            if len(recorded_grid(facts["groups"][codec])) < (2 if condition.slight_qp_offset else 1):
                raise ShardError(f"{root}: {codec}'s grid {recorded_grid(facts['groups'][codec])} has no pair")
            continue
        if not condition.eligible_qps(set(facts["groups"][codec].get("qps", []))):
            raise ShardError(
                f"{root}: {codec}'s QP grid {facts['groups'][codec].get('qps')} has no QP in {condition.qp_range} "
                f"with q-{condition.slight_qp_offset} coded too (items carry the picture at q-"
                f"{condition.slight_qp_offset}, README 'Loader items'); make the dataset with a paired grid, e.g. "
                f"vrpsr generate --qps {PAIRED_GRID_EXAMPLE}, or train anyway without that picture: vrpsr train "
                "sr|post --supervision clean (ConditionSpec(slight_qp_offset=0) in your own loop)"
            )
    if picture_dtype not in (torch.float32, torch.uint8):
        raise ValueError(f"picture_dtype must be torch.float32 or torch.uint8, got {picture_dtype}")
    if crop is not None and (crop % facts["scale"] or crop > facts["size"]):
        raise ValueError(
            f"crop {crop} must be a multiple of the scale {facts['scale']} and at most the size {facts['size']}"
        )
    complete, incomplete = list_shards(storage, groups, facts["num_shards"])
    if incomplete:
        LOG.warning(
            "%s: %d of %d shards are not complete in %s and are left out: %s",
            root,
            len(incomplete),
            facts["num_shards"],
            ", ".join((BASE_GROUP, *groups)),
            incomplete[:10],
        )
    if chosen is not None:
        left_out = sorted(set(chosen) - set(complete))
        if left_out:
            LOG.warning("%s: asked shards %s are not complete and are left out", root, left_out[:10])
        complete = sorted(set(chosen) & set(complete))
    rank, world_size = _rank_and_world(rank, world_size)
    return ShardDataset(
        root=root,
        shards=complete,
        groups=groups,
        condition=condition,
        crop=crop,
        seed=seed,
        storage_options=storage_options,
        rank=rank,
        world_size=world_size,
        resampled=resampled,
        shards_per_block=max(1, math.ceil(shuffle_buffer / facts["shard_size"])),
        shuffle=shuffle_buffer > 0,
        upsample_lq=upsample_lq,
        picture_dtype=picture_dtype,
        read_threads=read_threads,
        retry_seconds=retry_seconds,
        identity=_identity(facts, groups),
        onehot_codecs=onehot_codecs(available),
    )


def _resolve_source(root_or_urls: str | Sequence[str]) -> tuple[str, list[int] | None]:
    """A root (str) -> (root, None); base shard URLs -> (their common root, their indices)."""
    if isinstance(root_or_urls, str):
        if root_or_urls.endswith(".tar"):
            root_or_urls = [root_or_urls]
        else:
            return root_or_urls.rstrip("/"), None
    parsed = [shard_index_of_url(url) for url in root_or_urls]
    roots = {root for root, _ in parsed}
    if len(roots) != 1:
        raise ShardError(
            f"shard URLs come from {len(roots)} dataset roots ({sorted(roots)[:3]}...); give one dataset at a time"
        )
    return roots.pop(), sorted({index for _, index in parsed})


def _dataset_facts(info: dict, root: str) -> dict:
    try:
        return {name: info[name] for name in ("groups", "num_shards", "shard_size", "scale", "size")}
    except KeyError as error:
        raise ShardError(f"{root}/dataset.json lacks {error}") from None


def _identity(facts: dict, groups: tuple[str, ...]) -> dict[str, str]:
    """{group: config hash} of the base group and the codec groups read (dataset.json)."""
    return {
        group: facts["groups"][group].get("config_hash", "")
        for group in (BASE_GROUP, *groups)
        if group in facts["groups"]
    }


def _rank_and_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is None or world_size is None:
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        rank = rank if rank is not None else (torch.distributed.get_rank() if distributed else 0)
        world_size = (
            world_size if world_size is not None else (torch.distributed.get_world_size() if distributed else 1)
        )
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
    return rank, world_size
