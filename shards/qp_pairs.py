"""The QP−10 rule: a loader item at QP q also carries the same picture coded at q − 10 (codec_out_slight,
bpp_slight: the "slightly compressed" target of stage 2), so the trainers can only draw q whose q − 10 is
in the dataset's QP grid. A grid whose step divides 10 (20-50/2, 20-50/5, 20-50) pairs every QP from
min + 10 up; 22-46/4 pairs none. Torch-free: `vrpsr generate` checks its grid with it before encoding.
"""

from __future__ import annotations

from collections.abc import Iterable

SLIGHT_QP_OFFSET = 10
PAIRED_GRID_EXAMPLE = "20-50/2"  # q in 30..50 have their q - 10


def paired_qps(qps: Iterable[int], offset: int = SLIGHT_QP_OFFSET) -> list[int]:
    """The QPs q of the grid whose q - offset is in the grid too (the ones a trainer can draw)."""
    grid = set(qps)
    return sorted(q for q in grid if q - offset in grid)


def unpaired_qps(qps: Iterable[int], offset: int = SLIGHT_QP_OFFSET) -> list[int]:
    """QPs that are too high to be only a partner (q - offset >= the lowest QP) yet lack their q - offset."""
    grid = set(qps)
    if not grid:
        return []
    return sorted(q for q in grid if q - offset >= min(grid) and q - offset not in grid)


def grid_warning(qps: Iterable[int], offset: int = SLIGHT_QP_OFFSET) -> str | None:
    """A one-line warning for a grid the trainers cannot (fully) use; None when every QP is paired."""
    grid = sorted(set(qps))
    unpaired, paired = unpaired_qps(grid, offset), paired_qps(grid, offset)
    if paired and not unpaired:
        return None
    shown = ",".join(str(q) for q in grid)
    what = (
        f"no QP has its QP-{offset} partner, so `vrpsr train` cannot draw any q"
        if not paired
        else f"QPs {','.join(map(str, unpaired))} lack their QP-{offset} partner and are never drawn by `vrpsr train`"
    )
    return (
        f"QP grid {shown}: {what} (items carry the picture at q-{offset} too); a grid whose step divides "
        f"{offset} pairs them, e.g. --qps {PAIRED_GRID_EXAMPLE}; `vrpsr train sr|post --supervision clean` needs "
        "no partner"
    )
