"""The QP-10 rule: which grids the trainers can draw from, and the warning `vrpsr generate` prints."""

from __future__ import annotations

from pathlib import Path

from shards.qp_pairs import grid_warning, paired_qps, unpaired_qps
from vrpsr_cli.arguments import int_list
from vrpsr_cli.main import main


def test_grids_whose_step_divides_ten_pair_every_qp_above_the_lowest_ten() -> None:
    assert paired_qps(int_list("20-50/2")) == list(range(30, 51, 2)) and unpaired_qps(int_list("20-50/2")) == []
    assert paired_qps(int_list("22-46/4")) == [] and unpaired_qps(int_list("22-46/4")) == [34, 38, 42, 46]
    assert grid_warning(int_list("20-50/2")) is None and grid_warning(int_list("20-50/5")) is None
    assert unpaired_qps((20, 30, 35, 40)) == [35]


def test_warning_names_a_grid_that_works_and_the_way_to_train_anyway() -> None:
    none_paired = grid_warning(int_list("22-46/4"))
    assert none_paired and "no QP has its QP-10 partner" in none_paired
    assert "--qps 20-50/2" in none_paired and "--supervision clean" in none_paired
    some_paired = grid_warning((20, 30, 35, 40))
    assert some_paired and "QPs 35 lack their QP-10 partner" in some_paired
    assert "no QP has" in (grid_warning((40,)) or "")


def test_generate_warns_before_it_starts(tmp_path: Path, capsys) -> None:
    """The warning comes first: here the source does not exist, and the run stops before any encoding."""
    code = main(["generate", str(tmp_path / "missing"), str(tmp_path / "out"), "--qps", "22-46/4", "--workers", "1"])
    error = capsys.readouterr().err
    assert code != 0 and error.startswith("vrpsr generate: warning: QP grid 22,26,30,34,38,42,46"), error
    assert not (tmp_path / "out" / "dataset.json").exists()
    main(["generate", str(tmp_path / "missing"), str(tmp_path / "out"), "--qps", "20-50/2", "--workers", "1"])
    assert "warning" not in capsys.readouterr().err
