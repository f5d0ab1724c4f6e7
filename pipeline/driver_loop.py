"""A bounded, batched Ray task loop whose driver cost is linear in the number of tasks.

Submissions are pulled lazily from an iterator (each yields the refs of one unit of work, e.g. a base
shard and its codec tasks) while fewer than `max_in_flight` tasks are pending; completions are collected
with one `ray.wait(num_returns=k, timeout=...)` per batch, never one wait per task over every pending ref.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

import ray

Info = TypeVar("Info")
Submission = Callable[[], Sequence[tuple[ray.ObjectRef, Info]]]

IN_FLIGHT_PER_CPU = 4
MIN_IN_FLIGHT = 64  # also lets an autoscaler that starts from a small head see demand
WAIT_TIMEOUT_S = 0.5
RESOURCES_REFRESH_S = 10.0  # an autoscaled cluster grows: re-read its CPUs this often


def in_flight_limit(override: int | None = None) -> int:
    """A few tasks per cluster CPU (ray.cluster_resources()), or ``override``."""
    if override is not None:
        return max(1, override)
    return max(MIN_IN_FLIGHT, IN_FLIGHT_PER_CPU * int(ray.cluster_resources().get("CPU", 0)))


class BoundedLoop(Generic[Info]):
    """Runs submissions to completion; calls ``on_finished(info, result, error)`` once per task."""

    def __init__(
        self,
        on_finished: Callable[[Info, object, BaseException | None], None],
        max_in_flight: int | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.on_finished = on_finished
        self.override = max_in_flight
        self.on_tick = on_tick or (lambda: None)
        self.peak_in_flight = 0
        self.wait_calls = 0

    def run(self, submissions: Iterator[Submission]) -> None:
        pending: dict[ray.ObjectRef, Info] = {}
        limit, limit_read_at = in_flight_limit(self.override), time.monotonic()
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                submit = next(submissions, None)
                if submit is None:
                    exhausted = True
                    break
                pending.update(submit())
            self.peak_in_flight = max(self.peak_in_flight, len(pending))
            if not pending:
                continue
            batch = max(1, min(len(pending), limit // 4))
            ready, _ = ray.wait(list(pending), num_returns=batch, timeout=WAIT_TIMEOUT_S, fetch_local=True)
            self.wait_calls += 1
            self._finish(ready, pending)
            self.on_tick()
            if self.override is None and time.monotonic() - limit_read_at > RESOURCES_REFRESH_S:
                limit, limit_read_at = in_flight_limit(), time.monotonic()

    def _finish(self, ready: list[ray.ObjectRef], pending: dict[ray.ObjectRef, Info]) -> None:
        if not ready:
            return
        try:
            results = ray.get(ready)
        except ray.exceptions.RayError:  # one of them failed: take them one by one
            results = None
        for position, ref in enumerate(ready):
            info = pending.pop(ref)
            if results is not None:
                self.on_finished(info, results[position], None)
                continue
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as error:  # the task failed after its retries (or its input did)
                self.on_finished(info, None, error)
            else:
                self.on_finished(info, result, None)
