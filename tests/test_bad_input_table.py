"""The bad-input table: bad calls to the public entry points, the error
each gets, and the docs page made from them (`docs/bad-input.md`).

Regenerate the page after changing a row or a message:

    python -m tests.test_bad_input_table

Every row is a plain argument check (nothing trains), so the table runs in
a few seconds.
"""

import functools
import pathlib
import re
import sys

import numpy as np

PAGE = pathlib.Path(__file__).parent.parent / "docs" / "bad-input.md"
COMMAND = "python -m tests.test_bad_input_table"


@functools.lru_cache(maxsize=None)
def _model():
    from recipes import build_mlp_classifier

    return build_mlp_classifier(input_shape=(4,), hidden_units=(2,))


def _xy():
    rng = np.random.default_rng(0)
    return rng.random((8, 4)).astype("float32"), rng.integers(0, 10, 8)


def _check(**changes):
    from toolkit.tuning.config import check_config

    return check_config(
        {"recipe": "mlp_classifier", "data": "digits", **changes}
    )


def _sweep(**changes):
    from recipes import build_mlp_classifier
    from toolkit.tuning import sweep

    arguments = dict(data=_xy(), directory="unused", max_trials=1)
    arguments.update(changes)
    return sweep(build_mlp_classifier, **arguments)


def _lr(**changes):
    from toolkit.training import lr_range_test

    x, y = _xy()
    return lr_range_test(_model(), x, y, **changes)


def _recipe(name, **arguments):
    import recipes

    return getattr(recipes, name)(**arguments)


def _reservoir(**arguments):
    from toolkit.layers import Reservoir

    return Reservoir(**{"units": 8, **arguments})


def _esn(**arguments):
    from toolkit.models import ESN

    return ESN(**{"units": 8, **arguments})


def _parse(text):
    from toolkit.data import parse_tree

    return parse_tree(text)


def _resolve(name):
    from recipes.config import resolve_recipe

    return resolve_recipe(name)


def _space(space):
    from toolkit.tuning.config import resolve_space

    return resolve_space(space, None)


def _load(name):
    from toolkit.tuning.config import load_config

    return load_config(name)


def _hypermodel(**arguments):
    from recipes import build_mlp_classifier
    from toolkit.tuning import RecipeHyperModel, learning_rate_space

    arguments = {"builder": build_mlp_classifier, **arguments}
    return RecipeHyperModel(spaces=learning_rate_space, **arguments)


def _median(**arguments):
    from toolkit.tuning import MedianStopping

    return MedianStopping(
        **{
            "objective": "val_loss",
            "direction": "min",
            "curves": [],
            **arguments,
        }
    )


def _data(name, **arguments):
    import toolkit.data

    return getattr(toolkit.data, name)(**arguments)


# (entry point, bad input shown in the docs, the call, expected type)
ROWS = [
    (
        "check_config",
        'overwrite: "no"',
        lambda: _check(overwrite="no"),
        ValueError,
    ),
    (
        "check_config",
        'plots: "false"',
        lambda: _check(plots="false"),
        ValueError,
    ),
    (
        "check_config",
        'max_trials: "3"',
        lambda: _check(max_trials="3"),
        ValueError,
    ),
    ("check_config", "epochs: 0", lambda: _check(epochs=0), ValueError),
    (
        "check_config",
        "batch_size: 32.0",
        lambda: _check(batch_size=32.0),
        ValueError,
    ),
    (
        "check_config",
        "median_stopping: {min_trial: 2}",
        lambda: _check(median_stopping={"min_trial": 2}),
        ValueError,
    ),
    (
        "check_config",
        "median_stopping: {grace_epochs: 0}",
        lambda: _check(median_stopping={"grace_epochs": 0}),
        ValueError,
    ),
    (
        "check_config",
        "objective: os.system",
        lambda: _check(objective="os.system"),
        ValueError,
    ),
    (
        "check_config",
        "recipe: os.system",
        lambda: _check(recipe="os.system"),
        ValueError,
    ),
    ("check_config", "tuner: grid", lambda: _check(tuner="grid"), ValueError),
    ("check_config", "seed: -1", lambda: _check(seed=-1), ValueError),
    (
        "check_config",
        "project_name: ..",
        lambda: _check(project_name=".."),
        ValueError,
    ),
    ("check_config", "fixed: [1]", lambda: _check(fixed=[1]), ValueError),
    (
        "check_config",
        "space: [{dropout: {maximum: 0.3}}]",
        lambda: _check(space=[{"dropout": {"maximum": 0.3}}]),
        ValueError,
    ),
    (
        "check_config",
        "trials: 3 (unknown key)",
        lambda: _check(trials=3),
        ValueError,
    ),
    ("check_config", "data: []", lambda: _check(data=[]), ValueError),
    (
        "load_config",
        "missing.yaml",
        lambda: _load("missing.yaml"),
        FileNotFoundError,
    ),
    (
        "load_config",
        "setup.cfg (not YAML or JSON)",
        lambda: _load("setup.cfg"),
        ValueError,
    ),
    (
        "resolve_recipe",
        "recipe: system",
        lambda: _resolve("system"),
        ValueError,
    ),
    (
        "resolve_space",
        "space: [os.system]",
        lambda: _space(["os.system"]),
        ValueError,
    ),
    ("resolve_space", "space: all", lambda: _space("all"), ValueError),
    ("sweep", 'tuner="grid"', lambda: _sweep(tuner="grid"), ValueError),
    ("sweep", "max_trials=0", lambda: _sweep(max_trials=0), ValueError),
    ("sweep", "epochs=-1", lambda: _sweep(epochs=-1), ValueError),
    ("sweep", "seed=-1", lambda: _sweep(seed=-1), ValueError),
    ("sweep", "data=[1, 2, 3]", lambda: _sweep(data=[1, 2, 3]), ValueError),
    ("sweep", "batch_size=0", lambda: _sweep(batch_size=0), ValueError),
    (
        "sweep",
        "validation_split=1.0",
        lambda: _sweep(validation_split=1.0),
        ValueError,
    ),
    ("sweep", "draws=3 (a Keras recipe)", lambda: _sweep(draws=3), ValueError),
    (
        "RecipeHyperModel",
        "builder=3",
        lambda: _hypermodel(builder=3),
        TypeError,
    ),
    (
        "RecipeHyperModel",
        "fixed=[1]",
        lambda: _hypermodel(fixed=[1]),
        TypeError,
    ),
    (
        "RecipeHyperModel",
        "fixed={learning_rate: 0.1} and learning_rate_space",
        lambda: _hypermodel(fixed={"learning_rate": 0.1}),
        ValueError,
    ),
    (
        "MedianStopping",
        'direction="down"',
        lambda: _median(direction="down"),
        ValueError,
    ),
    (
        "MedianStopping",
        "min_trials=0",
        lambda: _median(min_trials=0),
        ValueError,
    ),
    ("lr_range_test", "min_lr=0", lambda: _lr(min_lr=0), ValueError),
    (
        "lr_range_test",
        "max_lr=1e-8 (below min_lr)",
        lambda: _lr(min_lr=1e-3, max_lr=1e-8),
        ValueError,
    ),
    ("lr_range_test", "steps=1", lambda: _lr(steps=1), ValueError),
    ("lr_range_test", 'rule="best"', lambda: _lr(rule="best"), ValueError),
    ("lr_range_test", 'mode="cubic"', lambda: _lr(mode="cubic"), ValueError),
    (
        "build_mlp_classifier",
        "hidden_units=-3",
        lambda: _recipe("build_mlp_classifier", hidden_units=-3),
        ValueError,
    ),
    (
        "build_mlp_classifier",
        "dropout=1.5",
        lambda: _recipe("build_mlp_classifier", dropout=1.5),
        ValueError,
    ),
    (
        "build_mlp_classifier",
        "num_classes=0",
        lambda: _recipe("build_mlp_classifier", num_classes=0),
        ValueError,
    ),
    (
        "build_mlp_classifier",
        'optimzer="adam" (misspelt)',
        lambda: _recipe("build_mlp_classifier", optimzer="adam"),
        TypeError,
    ),
    (
        "build_cnn_classifier",
        "filters=()",
        lambda: _recipe("build_cnn_classifier", filters=()),
        ValueError,
    ),
    (
        "build_sequence_regressor",
        "timesteps=0",
        lambda: _recipe("build_sequence_regressor", timesteps=0, features=1),
        ValueError,
    ),
    (
        "build_sequence_regressor",
        'cell="transformer"',
        lambda: _recipe(
            "build_sequence_regressor",
            timesteps=4,
            features=1,
            cell="transformer",
        ),
        ValueError,
    ),
    ("Reservoir", "units=0", lambda: _reservoir(units=0), ValueError),
    (
        "Reservoir",
        "leak_rate=1.5",
        lambda: _reservoir(leak_rate=1.5),
        ValueError,
    ),
    (
        "Reservoir",
        "connectivity=0",
        lambda: _reservoir(connectivity=0),
        ValueError,
    ),
    (
        "Reservoir",
        "spectral_radius=-1",
        lambda: _reservoir(spectral_radius=-1),
        ValueError,
    ),
    ("ESN", "units=0", lambda: _esn(units=0), ValueError),
    ("ESN", "leak_rate=0", lambda: _esn(leak_rate=0), ValueError),
    (
        "ESN",
        'readout_dtype="int8"',
        lambda: _esn(readout_dtype="int8"),
        ValueError,
    ),
    (
        "parse_tree",
        '"(3 (2 It)" (unclosed)',
        lambda: _parse("(3 (2 It)"),
        ValueError,
    ),
    (
        "parse_tree",
        '"(x word)" (label not an integer)',
        lambda: _parse("(x word)"),
        ValueError,
    ),
    ("parse_tree", '"" (empty)', lambda: _parse(""), ValueError),
    ("mackey_glass", "n=0", lambda: _data("mackey_glass", n=0), ValueError),
    (
        "mackey_glass",
        "tau=0",
        lambda: _data("mackey_glass", n=10, tau=0),
        ValueError,
    ),
    (
        "adding_problem",
        "timesteps=1",
        lambda: _data("adding_problem", n=4, timesteps=1),
        ValueError,
    ),
    (
        "digits_split",
        "validation_fraction=1.5",
        lambda: _data("digits_split", validation_fraction=1.5),
        ValueError,
    ),
]


def _error(call):
    """The exception `call` raises (None if it raises nothing)."""
    try:
        call()
    except Exception as error:
        return error
    return None


def _first_line(error):
    return str(error).strip().splitlines()[0]


def _named(shown):
    """What the message must name: the argument (or key, or file) of the
    bad input; for a tree, the position."""
    if shown.startswith('"'):
        return "Malformed tree at position"
    return re.match(r"[\w.]+", shown).group(0)


def render():
    """The docs page, from the rows and the errors they get now."""
    lines = [
        "# Bad input",
        "",
        "What each public entry point answers to a bad call: the error",
        "type and its message, which names the argument (or the",
        "configuration key, the file, the tree's position), says what is",
        "allowed and echoes what was received. A sweep configuration is",
        "checked whole before any trial runs; the `toolkit` command prints",
        "the same message on one line, `toolkit: error: ...`, and exits 2.",
        "",
        "This page is generated from the table of",
        "`tests/test_bad_input_table.py`, which checks every row; after",
        f"changing a row or a message, regenerate it with `{COMMAND}`.",
        "",
        "| Entry point | Bad input | Error | Message |",
        "| --- | --- | --- | --- |",
    ]
    for name, shown, call, _ in ROWS:
        error = _error(call)
        message = "(no error)" if error is None else _first_line(error)
        cells = [f"`{name}`", f"`{shown}`", type(error).__name__, message]
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        )
    return "\n".join(lines) + "\n"


def test_every_bad_call_raises_its_error_naming_the_argument():
    # One test over all rows: each is an argument check, nothing trains.
    for name, shown, call, expected in ROWS:
        error = _error(call)
        assert isinstance(error, expected), (name, shown, error)
        assert _named(shown) in str(error), (name, shown, str(error))


def test_the_table_has_forty_rows_over_the_public_entry_points():
    names = {name for name, *_ in ROWS}
    assert len(ROWS) >= 40
    assert {
        "sweep",
        "check_config",
        "lr_range_test",
        "Reservoir",
        "ESN",
        "parse_tree",
        "build_mlp_classifier",
    } <= names


def test_the_docs_page_is_the_generated_table():
    expected = render()
    found = PAGE.read_text() if PAGE.exists() else ""
    assert found == expected, (
        f"{PAGE.name} is stale: regenerate it with `{COMMAND}`"
    )


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE} ({len(ROWS)} rows)", file=sys.stderr)
