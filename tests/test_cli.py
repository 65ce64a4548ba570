import re

import pytest

from recipes.cli import main


def test_demo_beats_the_predict_the_mean_baseline(capsys):
    # Tiny and seeded (conftest): 512 sequences of 6 steps, 3 epochs.
    code = main(
        [
            "demo",
            "--timesteps",
            "6",
            "--samples",
            "512",
            "--units",
            "8",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--learning-rate",
            "0.01",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    found = re.search(r"test MSE: ([\d.]+)\s+baseline.*: ([\d.]+)", out)
    assert found, out
    mse, baseline = float(found.group(1)), float(found.group(2))
    assert baseline > 0
    assert mse < baseline, out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["nope"])
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_points_at_the_recipes_command_line():
    import configparser
    import pathlib

    setup = configparser.ConfigParser()
    setup.read(pathlib.Path(__file__).parent.parent / "setup.cfg")
    scripts = setup["options.entry_points"]["console_scripts"]
    assert scripts.strip() == "toolkit = recipes.cli:main"
