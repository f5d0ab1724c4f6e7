"""What a rerun skips, decided by one listing of `_done/` (on S3: one paginated LIST, 1,000 keys a call).

No marker is read: a group's markers were all written under the config hash that dataset.json records
for that group (a run that changes a group's hash is refused while any marker of the group exists, and
dataset.json is written before any task runs), so listing names is enough.
"""
from __future__ import annotations

import re

from shards.errors import ShardError
from shards.layout import DATASET_FILE, done_path
from shards.storage import Storage

DONE_FOLDER = done_path("x", 0).split("/", 1)[0]
_MARKER_NAME = re.compile(r"^(?P<group>[A-Za-z0-9_]+)-(?P<index>\d{6})\.json$")


def list_done(storage: Storage) -> frozenset[tuple[str, int]]:
    """Every (group, shard index) with a _done marker, from one listing of the marker folder."""
    done = set()
    for relative in storage.list(DONE_FOLDER):
        match = _MARKER_NAME.match(relative.rsplit("/", 1)[-1])
        if match:
            done.add((match["group"], int(match["index"])))
    return frozenset(done)


def refuse_changed_groups(storage: Storage, recorded_groups: dict, hashes: dict[str, str], done: frozenset[tuple[str, int]]) -> None:
    """ShardError when a group already has markers made under another config hash than this run's."""
    groups_with_markers = {group for group, _ in done}
    for group, config_hash in hashes.items():
        recorded = recorded_groups.get(group, {}).get("config_hash")
        if recorded not in (None, config_hash) and group in groups_with_markers:
            raise ShardError(
                f"{storage.url(DATASET_FILE)}: group {group} was made with config {recorded}, this run's is {config_hash} "
                "(seed, size, crop, degradation, grid, preset, encoder or the input listing changed): write to a new OUT"
            )
