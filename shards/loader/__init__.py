"""The streaming loader: shards (local folder or s3://) -> training items (see shard_loader.py).

    shard_loader.py  ShardLoader (a DataLoader with progress and resume state) and open_dataset
    plan.py          list_shards -> split by rank and worker -> blocks, epoch permutations
    stages.py        read_groups -> zip_groups -> decode_pictures -> random_crop -> to_tensors
    condition.py     ConditionSpec and sample_condition (codec, QP, prompt per item)
    dataset.py       the per-worker stream (ShardDataset) and skip counting
    progress.py      epoch progress and the resume position

Importing this package imports torch; the factory imports none of it.
"""

from shards.loader.shard_loader import ITEM_FIELDS, ConditionSpec, ShardDataset, ShardLoader, SkipCounter, open_dataset

__all__ = ["ITEM_FIELDS", "ConditionSpec", "ShardDataset", "ShardLoader", "SkipCounter", "open_dataset"]
