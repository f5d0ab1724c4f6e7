"""What a factory run did, rendered as the final lines of `vrpsr generate` (totals from the tasks' returns)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FactorySummary:
    shards: int = 0
    images_done: int = 0  # base samples made by this run
    images_failed: int = 0  # inputs of this run's base shards that could not be used (failures/base-*.parquet)
    bytes_written: int = 0
    skipped_tasks: int = 0
    ran_tasks: int = 0
    failed_tasks: list[str] = field(default_factory=list)
    encode_seconds: dict[str, float] = field(default_factory=dict)  # encoder wall time summed over tasks, per codec
    coded_images: dict[str, int] = field(default_factory=dict)  # images coded per codec by this run
    wall_rates: dict[str, float] = field(default_factory=dict)  # images/s per group over the run's wall time
    nodes: Counter = field(default_factory=Counter)  # Ray node id -> tasks it ran
    peak_in_flight: int = 0
    driver_cpu_seconds: float = 0.0
    seconds: float = 0.0

    def record(self, stats: dict) -> None:
        """Add one finished task's returned stats (its _done marker plus node_id)."""
        self.ran_tasks += 1
        self.bytes_written += stats["bytes"]
        self.nodes[stats["node_id"]] += 1
        if stats["group"] == "base":
            self.images_done += stats["samples"]
            self.images_failed += stats["failed"]
        else:
            self.encode_seconds[stats["group"]] = self.encode_seconds.get(stats["group"], 0.0) + stats["encode_seconds"]
            self.coded_images[stats["group"]] = self.coded_images.get(stats["group"], 0) + stats["samples"]

    def render(self) -> str:
        per_codec = (
            ", ".join(
                f"{codec} {seconds:.1f} s ({self.coded_images[codec] / seconds if seconds else 0.0:.2f} img/s per encoder)"
                for codec, seconds in self.encode_seconds.items()
            )
            or "none"
        )
        rates = ", ".join(f"{group} {rate:.2f}" for group, rate in self.wall_rates.items()) or "none"
        lines = [
            f"shards: {self.shards}  tasks run: {self.ran_tasks}  skipped (already done): {self.skipped_tasks}",
            f"images done: {self.images_done}  failed: {self.images_failed} (see failures/*.parquet)",
            f"bytes written: {self.bytes_written / 1e6:.1f} MB  wall: {self.seconds:.1f} s  images/s (wall): {rates}",
            f"encode seconds per codec: {per_codec}",
            f"nodes used: {len(self.nodes)}  tasks in flight (peak): {self.peak_in_flight}  driver CPU: {self.driver_cpu_seconds:.1f} s",
        ]
        if self.failed_tasks:
            lines.append(
                f"FAILED tasks after retries ({len(self.failed_tasks)}, rows in failures/tasks.parquet; rerun to resume): "
                f"{', '.join(self.failed_tasks[:20])}{' ...' if len(self.failed_tasks) > 20 else ''}"
            )
        return "\n".join(lines)
