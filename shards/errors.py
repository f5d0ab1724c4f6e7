"""The exception types of shards."""


class ShardError(Exception):
    """A dataset, shard or member is missing, malformed or inconsistent; the message names it and why."""


class StorageUnavailableError(RuntimeError):
    """The object store did not answer within the retry limit. Not a data error: never skipped."""
