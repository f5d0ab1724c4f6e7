"""What a rerun skips, decided by one listing of `_done/` (on S3: one paginated LIST, 1,000 keys a call).

A group's markers were all written under the config hash that dataset.json records for that group (a
run that changes a group's hash is refused while any marker of the group exists, and dataset.json is
written before any task runs), so listing names is enough; one marker per group is read as a check
(datasets from before this rule, or a hand-edited dataset.json): at most one GET per group.
"""

from __future__ import annotations

from shards.errors import ShardError
from shards.layout import DATASET_FILE, DONE_FOLDER, done_path, parse_done_path
from shards.markers import read_marker
from shards.storage import Storage


def list_done(storage: Storage) -> frozenset[tuple[str, int]]:
    """Every (group, shard index) with a _done marker, from one listing of the marker folder."""
    return frozenset(parsed for parsed in map(parse_done_path, storage.list(DONE_FOLDER)) if parsed is not None)


def refuse_changed_groups(
    storage: Storage, recorded_groups: dict, hashes: dict[str, str], done: frozenset[tuple[str, int]]
) -> None:
    """ShardError when a group already has markers made under another config hash than this run's."""
    groups_with_markers = {group for group, _ in done}
    for group, config_hash in hashes.items():
        recorded = recorded_groups.get(group, {}).get("config_hash")
        if recorded not in (None, config_hash) and group in groups_with_markers:
            raise ShardError(
                f"{storage.url(DATASET_FILE)}: group {group} was made with config {recorded}, this run's is {config_hash} "
                "(seed, size, crop, degradation, grid, preset, encoder or the input listing changed): write to a new OUT"
            )


def refuse_stale_markers(storage: Storage, hashes: dict[str, str], done: frozenset[tuple[str, int]]) -> None:
    """Read the first marker of each group of this run and refuse one made under another config hash."""
    for group, config_hash in hashes.items():
        indices = sorted(index for marker_group, index in done if marker_group == group)
        if not indices:
            continue
        recorded = read_marker(storage, group, indices[0]).config_hash
        if recorded != config_hash:
            raise ShardError(
                f"{storage.url(done_path(group, indices[0]))} was made with config {recorded}, this run's is {config_hash}: "
                "write to a new OUT (a dataset's config cannot change under it)"
            )
