import json
import pathlib

import pandas as pd
import pytest
import yaml

from toolkit import cli
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
    builder, space = sweep_config.resolve_recipe("cnn_classifier")
    assert builder.__name__ == "build_cnn_classifier"
    assert space.__name__ == "cnn_classifier_search_space"
    (x, _), _ = sweep_config.load_data("digits_images", {"samples": 5})
    assert x.shape == (5, 8, 8, 1)


def test_example_config_is_valid():
    config = sweep_config.load_config(EXAMPLE)
    builder, space = sweep_config.resolve_recipe(config["recipe"])
    assert sweep_config.resolve_space(config["space"], space) == [space]


def test_config_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No sweep configuration"):
        sweep_config.load_config(tmp_path / "missing.yaml")
    text = tmp_path / "sweep.txt"
    text.write_text("recipe: x")
    with pytest.raises(ValueError, match="must be a .yaml, .yml or .json"):
        sweep_config.load_config(text)
    with pytest.raises(ValueError, match="unknown keys \\['trials'\\]"):
        sweep_config.check_config({**_config(tmp_path), "trials": 3})
    with pytest.raises(ValueError, match="missing required keys"):
        sweep_config.check_config({"recipe": "mlp_classifier"})
    with pytest.raises(ValueError, match="must be a mapping"):
        sweep_config.check_config(["recipe"])
    with pytest.raises(ValueError, match="`data` must be one of"):
        sweep_config.check_config(_config(tmp_path, data="mnist"))
    with pytest.raises(ValueError, match="`recipe` must name a recipe"):
        sweep_config.resolve_recipe("transformer")
    with pytest.raises(ValueError, match="has no `<recipe>_search_space`"):
        sweep_config.resolve_space("default", None)
    with pytest.raises(ValueError, match="`space` must be 'default' or a"):
        sweep_config.resolve_space("all", None)
    with pytest.raises(ValueError, match="Each entry of `space` must be"):
        sweep_config.resolve_space([{"a": {}, "b": {}}], None)
    with pytest.raises(ValueError, match="`space` must be one of"):
        sweep_config.resolve_space(["momentum"], None)


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
