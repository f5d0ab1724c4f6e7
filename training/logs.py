"""Loss logs as CSV files that survive resume."""

from __future__ import annotations

import csv
from pathlib import Path


class CsvLog:
    """Append rows to a CSV; on resume, rows after the resumed step (from a lost run) are dropped."""

    def __init__(self, path: Path, columns: list[str], keep_until_step: int):
        rows = []
        if path.is_file() and keep_until_step > 0:
            with path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        self.path, self.columns = path, columns
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(row for row in rows if int(row["step"]) <= keep_until_step)

    def write(self, row: dict[str, float]) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, self.columns, extrasaction="ignore").writerow(row)
