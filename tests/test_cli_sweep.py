import json
import pathlib

import pandas as pd
import pytest
import yaml

from recipes import cli
from recipes.config import resolve_recipe
from toolkit.tuning import config as sweep_config

EXAMPLE = (
    pathlib.Path(__file__).parent.parent / "examples" / "sweep_digits.yaml"
)


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
    assert "2 trials; table:" in printed
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
