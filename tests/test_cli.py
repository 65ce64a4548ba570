import re

import pytest

from toolkit.cli import main


def test_demo_trains_and_reports_against_the_baseline(capsys):
    code = main(
        [
            "demo",
            "--timesteps",
            "6",
            "--samples",
            "64",
            "--units",
            "4",
            "--epochs",
            "1",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    found = re.search(r"test MSE: ([\d.]+)\s+baseline.*: ([\d.]+)", out)
    assert found, out
    assert float(found.group(2)) > 0


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["nope"])
    assert "invalid choice" in capsys.readouterr().err
