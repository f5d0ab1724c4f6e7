"""Schedule shard jobs on Ray (local or a cluster): one task per (shard, column group), retried, skipped
when one listing of _done/ holds its marker; a bounded number of tasks in flight; progress in images;
failures after retries written as rows of failures/tasks.parquet; a final summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import ray

from pipeline.config import FactoryConfig, run_config_hash
from pipeline.driver_loop import BoundedLoop, Submission
from pipeline.failures import TaskFailure, describe_error, record_task_failures
from pipeline.progress import FactoryProgress
from pipeline.ray_banner import quiet_local_token_banner
from pipeline.ray_tasks import TASK_RETRIES, base_task, base_task_memory, codec_task, codec_task_memory
from pipeline.run_plan import RunPlan, prepare_run, stream_plan
from pipeline.summary import FactorySummary
from shards.layout import BASE_GROUP
from shards.storage import Storage
from shards.writer_lease import WriterLease

__all__ = ["TASK_RETRIES", "FactorySummary", "RunPlan", "prepare_run", "run_factory", "stream_plan"]


def run_factory(
    config: FactoryConfig,
    storage_options: dict | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
    max_in_flight: int | None = None,
) -> FactorySummary:
    """Make the dataset config describes, holding the writer lease on OUT from before the plan to the end."""
    storage = Storage(config.out, storage_options)
    storage.check_reachable()
    with WriterLease(storage, run_config_hash(config), on_wait=_say) as lease:
        return _run_leased(config, storage, lease, storage_options, address, num_cpus, progress, max_in_flight)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run_leased(
    config: FactoryConfig,
    storage: Storage,
    lease: WriterLease,
    storage_options: dict | None,
    address: str | None,
    num_cpus: int | None,
    progress: bool,
    max_in_flight: int | None,
) -> FactorySummary:
    started, cpu_started = time.perf_counter(), time.process_time()
    plan = prepare_run(config, storage_options)
    groups = (BASE_GROUP, *config.codecs)
    todo = {index: [group for group in groups if (group, index) not in plan.done] for index in range(len(plan.shards))}
    todo = {index: pending for index, pending in todo.items() if pending}
    summary = FactorySummary(
        shards=len(plan.shards), skipped_tasks=len(plan.shards) * len(groups) - sum(map(len, todo.values()))
    )

    local = address in (None, "local")
    if not ray.is_initialized():
        with quiet_local_token_banner(local=local):  # a cluster this process starts
            ray.init(
                # never join a cluster that happens to run here (nor RAY_ADDRESS's) unless --address says so
                address="local" if local else address,
                num_cpus=num_cpus if local else None,
                # a task the memory monitor kills is retried this often, then fails as a row like any other
                # (Ray's own default has been unbounded; on a cluster set RAY_task_oom_retries where it starts)
                _system_config={"task_oom_retries": TASK_RETRIES} if local else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
    _check_memory_fits({"base": base_task_memory(config), "codec": codec_task_memory(config)}, local=local)
    config_ref = ray.put(config)
    progress_bar = FactoryProgress(
        {index: len(pending) for index, pending in todo.items()},
        {index: len(plan.shards[index]) for index in todo},
        groups,
        progress,
    )
    failures: list[TaskFailure] = []
    done = set(plan.done)

    def on_finished(task: tuple[str, int], stats: object, error: BaseException | None) -> None:
        group, index = task
        if error is None:
            summary.record(stats)  # type: ignore[arg-type]
            done.add(task)
        else:
            failures.append(TaskFailure(group, index, describe_error(error), 1 + TASK_RETRIES))
            progress_bar.bar.write(
                f"task {group}-{index:06d} failed after {TASK_RETRIES} retries: {describe_error(error)[-500:]}"
            )
        progress_bar.task_finished(group, index)

    def on_tick() -> None:
        progress_bar.tick()
        lease.check()

    loop = BoundedLoop(on_finished, max_in_flight, on_tick=on_tick)
    try:
        loop.run(_submissions(config, config_ref, plan, todo, storage_options))
    finally:
        progress_bar.close()
    failures = _blame_base_failures(failures)
    record_task_failures(storage, failures, done)
    summary.failed_tasks = [f"{failure.group}-{failure.shard:06d}" for failure in failures]
    summary.wall_rates = {group: rate for group, rate in progress_bar.rates().items() if rate > 0}
    summary.peak_in_flight = loop.peak_in_flight
    summary.driver_cpu_seconds = time.process_time() - cpu_started
    summary.seconds = time.perf_counter() - started
    return summary


def _submissions(
    config: FactoryConfig,
    config_ref: ray.ObjectRef,
    plan: RunPlan,
    todo: dict[int, list[str]],
    storage_options: dict | None,
) -> Iterator[Submission]:
    """One submission per shard with work left: its base task (if not done) and its codec tasks after it."""
    base_options = {"num_cpus": 1, "memory": base_task_memory(config)}
    codec_options = {"num_cpus": config.threads, "memory": codec_task_memory(config)}

    def submit(index: int, pending: list[str]) -> list[tuple[ray.ObjectRef, tuple[str, int]]]:
        refs = []
        base_ref = None
        if BASE_GROUP in pending:
            base_ref = base_task.options(**base_options).remote(
                config_ref,
                index,
                list(plan.shards[index]),
                plan.hashes[BASE_GROUP],
                storage_options,
                plan.versions[BASE_GROUP],
            )
            refs.append((base_ref, (BASE_GROUP, index)))
        for codec in (group for group in pending if group != BASE_GROUP):
            ref = codec_task.options(**codec_options).remote(
                config_ref, index, codec, plan.hashes[codec], storage_options, plan.versions[codec], base_ref
            )
            refs.append((ref, (codec, index)))
        return refs

    for index, pending in todo.items():
        yield lambda index=index, pending=pending: submit(index, pending)


def _check_memory_fits(requests: dict[str, int], local: bool) -> None:
    """A task that declares more memory than any node offers would wait forever: refuse it on a local Ray
    (ValueError), warn on a cluster (an autoscaler may still add a larger node)."""
    largest = max((node["Resources"].get("memory", 0) for node in ray.nodes() if node["Alive"]), default=0)
    for kind, request in requests.items():
        if request > largest:
            message = (
                f"a {kind} task declares {request / 2**30:.1f} GiB of memory (shard size x picture size x grid points), "
                f"the largest Ray node offers {largest / 2**30:.1f} GiB: lower --shard-size or --size"
            )
            if local:
                raise ValueError(message)
            print(f"WARNING: {message}")


def _blame_base_failures(failures: list[TaskFailure]) -> list[TaskFailure]:
    """A codec task whose base shard failed never ran: say so instead of repeating the base's error."""
    failed_bases = {failure.shard for failure in failures if failure.group == BASE_GROUP}
    return [
        TaskFailure(f.group, f.shard, f"not run: base-{f.shard:06d} failed", 0)
        if f.group != BASE_GROUP and f.shard in failed_bases
        else f
        for f in failures
    ]
