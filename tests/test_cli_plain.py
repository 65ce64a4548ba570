"""The `toolkit` command speaks plainly: one error line and an exit code
that says what happened, no TensorFlow start-up noise, `--help` with
defaults, a reproducible `lr-find`, and the files a sweep wrote."""

import os
import pathlib
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from recipes import _startup, cli

ROOT = pathlib.Path(__file__).parent.parent


def _write(tmp_path, **changes):
    config = {
        "recipe": "mlp_classifier",
        "data": "digits",
        "data_options": {"samples": 32, "seed": 0},
        "space": ["dropout"],
        "fixed": {"hidden_units": [4]},
        "max_trials": 1,
        "epochs": 1,
        "directory": str(tmp_path / "sweeps"),
        "project_name": "plain",
        "seed": 0,
    }
    config.update(changes)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("toolkit: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_config_errors_print_one_line_and_exit_2(tmp_path, capsys):
    cases = [
        ({"overwrite": "no"}, "Argument `overwrite` must be true or false"),
        ({"objective": "val_acc"}, "one of ['accuracy', 'loss',"),
        ({"median_stopping": {"min_trial": 2}}, "unknown keys ['min_trial']"),
        ({"fixed": {"hidden_units": -3}}, "refuses key `fixed`"),
    ]
    for changes, words in cases:
        path = _write(tmp_path, **changes)
        assert cli.main(["sweep", path]) == cli.EXIT_USAGE, changes
        line = _one_error_line(capsys.readouterr().err)
        assert words in line and path in line, line
    # No trial ran: nothing was written.
    assert not (tmp_path / "sweeps").exists()
    assert cli.main(["sweep", str(tmp_path / "none.yaml")]) == 2
    assert "No sweep configuration at" in _one_error_line(
        capsys.readouterr().err
    )
    assert cli.main(["lr-find", "--recipe", "os.system"]) == 2
    assert "`recipe` must name a recipe" in _one_error_line(
        capsys.readouterr().err
    )


def test_verbose_adds_the_traceback(tmp_path, capsys):
    path = _write(tmp_path, plots="false")
    assert cli.main(["sweep", path, "--verbose"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "`plots` must be true or false" in err


def test_a_sweep_whose_every_trial_failed_exits_1(
    tmp_path, capsys, monkeypatch
):
    module = sys.modules["toolkit.tuning.sweep"]

    def failing(**arguments):
        return pd.DataFrame(
            {
                "trial_id": ["0", "1"],
                "status": ["failed", "failed"],
                "error": ["ValueError: bad width", "ValueError: bad width"],
            }
        )

    monkeypatch.setattr(module, "sweep", failing)
    assert cli.main(["sweep", _write(tmp_path)]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert "no trial of the sweep trained (2 trials: 2 failed)" in line
    assert "the first error: ValueError: bad width" in line
    assert "2 of 2 trials failed" in captured.out


def test_ctrl_c_says_what_was_kept_and_how_to_resume(
    tmp_path, capsys, monkeypatch
):
    module = sys.modules["toolkit.tuning.sweep"]

    def interrupted(**arguments):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "sweep", interrupted)
    path = _write(tmp_path)
    assert cli.main(["sweep", path]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (
        "toolkit: interrupted; the finished trials are kept in "
        f"{tmp_path / 'sweeps' / 'plain' / 'trials.csv'} (the trial that "
        f"was running reruns); resume with the same command: toolkit "
        f"sweep {path}"
    )


def test_every_option_of_every_command_shows_its_default():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) >= {"demo", "sweep", "lr-find"}
    for name, command in commands.items():
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            assert f"(default: {action.default})" in text, (name, action)


def test_argument_errors_are_argparse_usage_errors(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["sweep", "x.yaml", "--top", "0"])
    assert stopped.value.code == 2
    assert "argument --top: must be a positive integer, not 0" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        cli.main(["lr-find", "--steps", "many"])
    assert "must be an integer, not 'many'" in capsys.readouterr().err


def test_lr_find_says_what_it_tested_and_repeats_under_its_seed(capsys):
    argv = ["lr-find", "--steps", "8", "--batch-size", "16", "--seed", "3"]
    runs = []
    for _ in range(2):
        assert cli.main(argv) == 0
        runs.append(capsys.readouterr().out)
    header = runs[0].splitlines()[0]
    for words in [
        "recipe mlp_classifier (",
        "optimizer Adam",
        "batch size 16",
        "8 steps",
        "learning rate 1e-06 to 10",
        "data digits (1347 training examples)",
        "seed 3",
    ]:
        assert words in header, header
    suggestions = [re.findall(r":\s+([\d.e+-]+)", run) for run in runs]
    assert suggestions[0] and suggestions[0] == suggestions[1], runs


def test_the_command_line_is_recognised_from_argv():
    assert _startup.is_command_line(["python", "-m", "recipes.cli", "sweep"])
    assert _startup.is_command_line(["/venv/bin/python", "/venv/bin/toolkit"])
    assert not _startup.is_command_line(["python", "-m", "pytest", "tests"])
    assert not _startup.is_command_line(["python", "script.py"])


def _run(*argv, cwd):
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "recipes.cli", *argv],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


NOISE = ("cuInit", "oneDNN", "absl::InitializeLog", "cpu_feature_guard")


def test_a_real_sweep_names_its_files_and_shows_the_metrics(tmp_path, capsys):
    path = _write(tmp_path, max_trials=2)
    assert cli.main(["sweep", path]) == 0
    out = capsys.readouterr().out
    project = tmp_path / "sweeps" / "plain"
    for name in ["trials.csv", "metric_vs_hp.png", "parallel_coordinates.png"]:
        assert str(project / name) in out, out
        assert (project / name).exists()
    table = out.split("Best trials by best_val_loss:")[1]
    header = table.splitlines()[1].split()
    assert header[:4] == [
        "trial_id",
        "status",
        "best_val_loss",
        "best_val_accuracy",
    ], header


@pytest.mark.slow
def test_in_a_process_tensorflow_is_quiet_and_an_error_exits_2(tmp_path):
    # The objective check builds and evaluates the model, so TensorFlow's
    # devices are up (the cuInit probe) before the error.
    done = _run("sweep", _write(tmp_path, objective="val_acc"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert not any(word in done.stderr for word in NOISE), done.stderr
    line = _one_error_line(done.stderr)
    assert "`objective` must be a metric the recipe" in line, line
    assert done.stdout == "", done.stdout
