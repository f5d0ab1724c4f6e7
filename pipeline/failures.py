"""Tasks that still fail after their retries become rows of failures/tasks.parquet (group, shard, error,
attempts): a failure is data. Rows of earlier runs are kept while their shard is still not done."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from shards.storage import Storage
from shards.task_failures import read_task_failures, write_task_failures

ERROR_CHARS = 2000


@dataclass(frozen=True)
class TaskFailure:
    group: str
    shard: int
    error: str
    attempts: int


def describe_error(error: BaseException) -> str:
    """The root cause of a Ray task error (the worker's exception, not Ray's wrapper), shortened."""
    cause = getattr(error, "cause", None)
    shown = cause if isinstance(cause, BaseException) else error
    text = f"{type(shown).__name__}: {shown}"
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS // 2] + " ... " + text[-ERROR_CHARS // 2 :]


def record_task_failures(storage: Storage, failures: list[TaskFailure], done: set[tuple[str, int]]) -> None:
    """Rewrite failures/tasks.parquet: this run's failures plus earlier rows whose shard is still not done."""
    mine = {(failure.group, failure.shard) for failure in failures}
    rows = [asdict(failure) for failure in failures]
    for row in read_task_failures(storage):
        key = (row["group"], row["shard"])
        if key not in done and key not in mine:
            rows.append(row)
    write_task_failures(storage, rows)
