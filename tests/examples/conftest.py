"""The examples run on the shards tests' tiny dataset."""

from tests.shards.conftest import tiny_dataset  # noqa: F401 (a fixture, shared)
