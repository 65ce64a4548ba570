import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import yaml

from recipes import cli, esn_search_space
from recipes.config import resolve_recipe
from toolkit.models import ESN
from toolkit.tuning import config as sweep_config

EXAMPLE = (
    pathlib.Path(__file__).parent.parent / "examples" / "sweep_digits.yaml"
)
ESN_EXAMPLE = EXAMPLE.parent / "sweep_mackey_glass.yaml"


def _write(tmp_path, config, suffix=".yaml"):
    path = tmp_path / f"sweep{suffix}"
    text = yaml.safe_dump(config) if suffix == ".yaml" else json.dumps(config)
    path.write_text(text)
    return str(path)


def _config(tmp_path, **changes):
    config = {
        "recipe": "mlp_classifier",
        "data": "digits",
        "data_options": {"samples": 64, "seed": 0},
        "space": [{"learning_rate": {"max_value": 0.05}}, "dropout"],
        "fixed": {"hidden_units": [8]},
        "max_trials": 2,
        "epochs": 1,
        "batch_size": 32,
        "directory": str(tmp_path / "sweeps"),
        "project_name": "cli",
        "seed": 0,
    }
    config.update(changes)
    return config


def test_sweep_command_runs_resumes_and_plots(tmp_path, capsys):
    path = _write(tmp_path, _config(tmp_path))
    assert cli.main(["sweep", path]) == 0
    printed = capsys.readouterr().out
    assert "trial 0 completed" in printed
    assert "trials.csv (2 trials)" in printed
    project = tmp_path / "sweeps" / "cli"
    frame = pd.read_csv(project / "trials.csv")
    assert len(frame) == 2 and set(frame["status"]) == {"completed"}
    assert (project / "metric_vs_hp.png").exists()
    assert (project / "parallel_coordinates.png").exists()
    # Run again: the two finished trials are kept, nothing is re-run.
    assert cli.main(["sweep", path]) == 0
    assert "trial 0 completed" not in capsys.readouterr().out
    again = pd.read_csv(project / "trials.csv")
    assert list(again["start"]) == list(frame["start"])


def _esn_config(tmp_path, **changes):
    config = {
        "recipe": "esn",
        "data": "mackey_glass",
        "data_options": {"length": 300, "validation_fraction": 0.3},
        "space": [{"reservoir": {"ridge": {"min_value": 1e-6}}}],
        "fixed": {"units": 10, "washout": 20},
        "max_trials": 2,
        "draws": 2,
        "metrics": ["rmse"],
        "generation": {"steps": 10, "warmup": 20},
        "directory": str(tmp_path / "sweeps"),
        "project_name": "esn",
        "seed": 0,
    }
    config.update(changes)
    return config


def test_esn_sweep_command_runs_resumes_and_plots(tmp_path, capsys):
    path = _write(tmp_path, _esn_config(tmp_path))
    assert cli.main(["sweep", path]) == 0
    printed = capsys.readouterr().out
    assert "2 trials x 2 reservoir draws" in printed
    assert "trial 0 completed after 2 draws" in printed
    project = tmp_path / "sweeps" / "esn"
    frame = pd.read_csv(project / "trials.csv")
    assert list(frame["status"]) == ["completed"] * 2
    for column in [
        "best_val_nrmse",
        "val_nrmse_std",
        "val_nrmse_draw_2",
        "best_val_rmse",
        "best_val_generation_nrmse",
    ]:
        assert column in frame.columns, column
    assert (project / "metric_vs_hp.png").exists()
    assert (project / "parallel_coordinates.png").exists()
    assert cli.main(["sweep", path]) == 0
    assert "trial 0 completed" not in capsys.readouterr().out
    again = pd.read_csv(project / "trials.csv")
    assert list(again["start"]) == list(frame["start"])


def test_mackey_glass_data_is_split_in_time():
    from toolkit.data import mackey_glass

    (x, y), (x_val, y_val) = sweep_config.load_data(
        "mackey_glass",
        {"length": 100, "validation_fraction": 0.2, "horizon": 2, "seed": 3},
    )
    series = mackey_glass(102, seed=3).astype("float32")
    assert x.shape == (80, 1) and x_val.shape == (20, 1)
    np.testing.assert_array_equal(x, series[:80])
    np.testing.assert_array_equal(y, series[2:82])
    np.testing.assert_array_equal(x_val, series[80:100])
    np.testing.assert_array_equal(y_val, series[82:102])


def test_esn_config_defaults_and_the_example():
    config = sweep_config.check_config(
        {"recipe": "esn", "data": "mackey_glass"}
    )
    assert config["objective"] == "val_nrmse"
    assert config["project_name"] == "esn_mackey_glass"
    example = sweep_config.load_config(ESN_EXAMPLE)
    builder, space = resolve_recipe(example["recipe"])
    assert builder is ESN and space is esn_search_space
    assert sweep_config.resolve_space(example["space"], space) == [space]
    assert example["draws"] == 3 and example["tuner"] == "random"


def test_json_config_and_defaults(tmp_path):
    path = _write(
        tmp_path, _config(tmp_path, project_name=None), suffix=".json"
    )
    config = sweep_config.load_config(path)
    assert config["project_name"] == "mlp_classifier_digits"
    assert config["tuner"] == "random"
    builder, space = resolve_recipe("cnn_classifier")
    assert builder.__name__ == "build_cnn_classifier"
    assert space.__name__ == "cnn_classifier_search_space"
    (x, _), _ = sweep_config.load_data("digits_images", {"samples": 5})
    assert x.shape == (5, 8, 8, 1)


def test_example_config_is_valid():
    config = sweep_config.load_config(EXAMPLE)
    builder, space = resolve_recipe(config["recipe"])
    assert sweep_config.resolve_space(config["space"], space) == [space]


def _text_config(tmp_path):
    text = tmp_path / "sweep.txt"
    text.write_text("recipe: x")
    return text


CONFIG_ERRORS = [
    (
        FileNotFoundError,
        "No sweep configuration",
        lambda tmp: sweep_config.load_config(tmp / "missing.yaml"),
    ),
    (
        ValueError,
        "must be a .yaml, .yml or .json",
        lambda tmp: sweep_config.load_config(_text_config(tmp)),
    ),
    (
        ValueError,
        "unknown keys \\['trials'\\]",
        lambda tmp: sweep_config.check_config({**_config(tmp), "trials": 3}),
    ),
    (
        ValueError,
        "missing required keys",
        lambda tmp: sweep_config.check_config({"recipe": "mlp_classifier"}),
    ),
    (
        ValueError,
        "must be a mapping",
        lambda tmp: sweep_config.check_config(["recipe"]),
    ),
    (
        ValueError,
        "`data` must be one of",
        lambda tmp: sweep_config.check_config(_config(tmp, data="mnist")),
    ),
    (
        ValueError,
        "`recipe` must name a recipe",
        lambda tmp: resolve_recipe("transformer"),
    ),
    (
        ValueError,
        "has no `<recipe>_search_space`",
        lambda tmp: sweep_config.resolve_space("default", None),
    ),
    (
        ValueError,
        "`space` must be 'default' or a",
        lambda tmp: sweep_config.resolve_space("all", None),
    ),
    (
        ValueError,
        "Each entry of `space` must be",
        lambda tmp: sweep_config.resolve_space([{"a": {}, "b": {}}], None),
    ),
    (
        ValueError,
        "`space` must be one of",
        lambda tmp: sweep_config.resolve_space(["momentum"], None),
    ),
    (
        ValueError,
        "the recipe learns from series, one of \\['mackey_glass'\\]",
        lambda tmp: sweep_config.sweep_from_config(
            sweep_config.check_config(_esn_config(tmp, data="digits")), ESN
        ),
    ),
    (
        ValueError,
        "the recipe learns from images",
        lambda tmp: sweep_config.sweep_from_config(
            sweep_config.check_config(_config(tmp, data="mackey_glass")),
            resolve_recipe("mlp_classifier")[0],
        ),
    ),
    (
        ValueError,
        "`validation_fraction` must be a number in \\(0, 1\\)",
        lambda tmp: sweep_config.load_data(
            "mackey_glass", {"validation_fraction": 1.0}
        ),
    ),
    (
        ValueError,
        "leave no training or no validation steps",
        lambda tmp: sweep_config.load_data(
            "mackey_glass", {"length": 3, "validation_fraction": 0.01}
        ),
    ),
    (
        ValueError,
        "`horizon` must be a positive integer",
        lambda tmp: sweep_config.load_data("mackey_glass", {"horizon": 0}),
    ),
    (
        ValueError,
        "`draws` applies to ESN trials only",
        lambda tmp: sweep_config.sweep_from_config(
            sweep_config.check_config(_config(tmp, draws=3)),
            resolve_recipe("mlp_classifier")[0],
        ),
    ),
    (
        TypeError,
        "`builder` must be a function",
        lambda tmp: sweep_config.sweep_from_config(
            sweep_config.check_config(_config(tmp)), builder=None
        ),
    ),
]


@pytest.mark.parametrize(
    "error, match, call",
    CONFIG_ERRORS,
    ids=[match for _, match, _ in CONFIG_ERRORS],
)
def test_config_errors(tmp_path, error, match, call):
    with pytest.raises(error, match=match):
        call(tmp_path)


def test_lr_find_command(tmp_path, capsys):
    plot = tmp_path / "range.png"
    assert (
        cli.main(
            [
                "lr-find",
                "--steps",
                "12",
                "--min-lr",
                "1e-4",
                "--max-lr",
                "1",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "valley" in printed and "steepest" in printed
    assert "minimum_tenth: " in printed
    assert printed.count("(default)") == 1
    assert "(default)" in printed.split("minimum_tenth: ")[1].splitlines()[0]
    assert plot.stat().st_size > 0
