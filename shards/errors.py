"""The one exception type of shards."""


class ShardError(Exception):
    """A dataset, shard or member is missing, malformed or inconsistent; the message names it and why."""
