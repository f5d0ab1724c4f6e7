"""Help and usage lines name each command the way users type it."""

from __future__ import annotations

import pytest

from vrpsr_cli.main import main


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["eval", "simulator", "--help"], "usage: vrpsr eval simulator "),
        (["eval", "--help"], "usage: vrpsr eval "),
        (["shards", "show", "--help"], "usage: vrpsr shards show "),
        (["train", "sr", "--help"], "usage: vrpsr train sr "),
    ],
)
def test_help_names_the_command_as_typed(argv: list[str], usage: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(usage)
