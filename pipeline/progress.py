"""The factory's progress bar: counts images (an image is done when every group of its shard is done),
with tqdm's ETA, and images/s per group (the rate at which each group's shards finish)."""

from __future__ import annotations

import time

from tqdm import tqdm

POSTFIX_EVERY_S = 1.0


class FactoryProgress:
    def __init__(
        self, shard_tasks: dict[int, int], shard_images: dict[int, int], groups: tuple[str, ...], enabled: bool
    ) -> None:
        """``shard_tasks``: shard index -> tasks of this run; ``shard_images``: shard index -> its inputs."""
        self.remaining = dict(shard_tasks)
        self.shard_images = shard_images
        self.group_images = dict.fromkeys(groups, 0)
        self.started = time.perf_counter()
        self.postfix_at = 0.0
        total = sum(shard_images[index] for index in shard_tasks)
        self.bar = tqdm(total=total, unit="img", desc="vrpsr generate", disable=not enabled, smoothing=0.1)

    def task_finished(self, group: str, index: int) -> None:
        images = self.shard_images[index]
        self.group_images[group] += images
        self.remaining[index] -= 1
        if self.remaining[index] == 0:
            self.bar.update(images)

    def rates(self) -> dict[str, float]:
        """Images per second of wall time, per group, since the run started."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return {group: images / elapsed for group, images in self.group_images.items()}

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self.postfix_at >= POSTFIX_EVERY_S:
            self.postfix_at = now
            self.bar.set_postfix_str(
                " ".join(f"{group} {rate:.1f}/s" for group, rate in self.rates().items()), refresh=True
            )

    def close(self) -> None:
        self.bar.close()
