"""The data contract: layout (names), tar format, manifests, dataset.json, storage, and the streaming loader.

`shards.open_dataset` is re-exported lazily so that importing `shards` (the factory does) does not import torch.
"""


def __getattr__(name: str):
    if name == "open_dataset":
        from shards.loader import open_dataset

        return open_dataset
    raise AttributeError(f"module 'shards' has no attribute {name!r}")
