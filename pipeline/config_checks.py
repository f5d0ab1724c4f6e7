"""Checks of a FactoryConfig against the codecs' real ranges, run when the config is built (so the CLI
refuses a bad argument in one line before any task starts); each message names the flag and the fix."""

from __future__ import annotations

from codec_bindings import get_codec

MIN_LQ_SIZE = 8  # the smallest SR input side (size / scale) worth making; codecs pad smaller pictures anyway
MAX_SIZE = 8192  # beyond this one picture's working copies no longer fit a usual worker
MAX_PNG_COMPRESSION = 9


def grid_problems(
    codecs: tuple[str, ...],
    qps: tuple[int, ...],
    crfs: tuple[float, ...],
    grids: dict[str, tuple[int, ...]] | None = None,
) -> list[str]:
    """QP and CRF points each codec can take, without duplicates; ``grids``: each codec's own grid (its
    --grid, its default grid, or --qps), checked against the codec's rate_range (QPs or jpeg/webp qualities)."""
    problems = []
    for name, points in (("--qps", qps), ("--crfs", crfs)):
        repeated = sorted({point for point in points if points.count(point) > 1})
        if repeated:
            problems.append(f"{name} repeats {', '.join(map(str, repeated))}: give each point once")
    for codec in codecs:
        spec = get_codec(codec)
        grid = tuple((grids or {}).get(codec, qps))
        flag = "--qps" if grid == tuple(qps) else f"--grid {codec}="
        low, high = spec.rate_range
        outside = [value for value in grid if not low <= value <= high]
        if outside:
            problems.append(
                f"{flag}{' ' if flag == '--qps' else ''}{','.join(map(str, outside))} outside {codec}'s range "
                f"{low}..{high}: "
                f"give {'QPs' if spec.rate_parameter == 'qp' else 'qualities'} within it (or leave that codec out of --codecs)"
            )
        elif flag != "--qps" and len(set(grid)) != len(grid):
            problems.append(f"{flag} repeats a value ({list(grid)}): give each point once")
        if crfs and not spec.supports_crf:
            problems.append(f"--crfs: {codec} takes constant QP only: leave --crfs out or {codec} out of --codecs")
    bad_crfs = [crf for crf in crfs if not 0 <= crf <= 51]
    if bad_crfs:
        problems.append(f"--crfs {', '.join(map(str, bad_crfs))} outside 0..51")
    return problems


def picture_problems(size: int, scale: int) -> list[str]:
    if scale < 1:
        return [f"--scale must be >= 1, got {scale}"]
    if not scale * MIN_LQ_SIZE <= size <= MAX_SIZE:
        return [
            f"--size {size} outside {scale * MIN_LQ_SIZE}..{MAX_SIZE} (at --scale {scale} the SR input is size/scale)"
        ]
    if size % scale:
        return [f"--size {size} is not divisible by --scale {scale}"]
    return []


def encoder_problems(codecs: tuple[str, ...], presets: tuple[tuple[str, str], ...], threads: int) -> list[str]:
    problems = [] if threads >= 1 else [f"--threads must be >= 1, got {threads}"]
    for codec, preset in presets:
        if codec not in codecs:
            problems.append(f"--preset {codec}={preset}: {codec} is not in --codecs")
        elif preset not in get_codec(codec).presets:
            problems.append(f"--preset {codec}={preset}: known presets: {', '.join(get_codec(codec).presets)}")
    return problems


def job_problems(seed: int, shard_size: int, png_compression: int, max_input_bytes: int) -> list[str]:
    problems = [] if seed >= 0 else [f"--seed must be >= 0, got {seed}"]
    if max_input_bytes < 1:
        problems.append(f"--max-input-mb must be > 0, got {max_input_bytes / 2**20:g}")
    if shard_size < 1:
        problems.append(f"--shard-size must be >= 1, got {shard_size}")
    if not 0 <= png_compression <= MAX_PNG_COMPRESSION:
        problems.append(f"png_compression must be in 0..{MAX_PNG_COMPRESSION}, got {png_compression}")
    return problems
