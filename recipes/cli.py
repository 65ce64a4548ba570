"""The `toolkit` command line: `toolkit demo`, `toolkit sweep CONFIG` and
`toolkit lr-find` (also `python -m recipes.cli ...`). It lives with the
recipes because it names them."""

import argparse
import os
import sys

from recipes.cli_fine_tune import _add_fine_tune


def _demo(args):
    """Train a small LSTM on the adding problem and compare to a baseline."""
    import numpy as np

    from recipes import build_sequence_regressor
    from toolkit.data import adding_problem

    x, y = adding_problem(args.samples, args.timesteps, seed=args.seed)
    x_test, y_test = adding_problem(1000, args.timesteps, seed=args.seed + 1)
    model = build_sequence_regressor(
        args.timesteps,
        2,
        cell="lstm",
        units=args.units,
        learning_rate=args.learning_rate,
        clipnorm=1.0,
    )
    print(
        f"Adding problem, T={args.timesteps}: {args.samples} training "
        f"sequences, LSTM with {args.units} units "
        f"({model.count_params()} parameters)."
    )
    model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=0.1,
        verbose=1,
    )
    mse = float(model.evaluate(x_test, y_test, verbose=0)[0])
    baseline = float(np.mean((y_test - y.mean()) ** 2))
    print(
        f"test MSE: {mse:.4f}   baseline (predict the mean): "
        f"{baseline:.4f}   ratio: {mse / baseline:.3f}"
    )
    return 0 if np.isfinite(mse) else 1


def _add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo", help="train an LSTM on the adding problem (no download)"
    )
    parser.add_argument("--timesteps", type=int, default=30)
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=_demo)


def _sweep(args):
    """Run the sweep a YAML or JSON configuration describes."""
    import pathlib

    from recipes.config import run_config
    from toolkit.tuning.config import load_config
    from toolkit.tuning.distributed import launch_local
    from toolkit.tuning.records import metric_direction

    config = load_config(args.config)
    if args.overwrite:
        config["overwrite"] = True
    if args.workers:
        command = [sys.executable, "-m", "recipes.cli", "sweep", args.config]
        if args.overwrite:
            command.append("--overwrite")
        print(
            f"Starting a chief and {args.workers} workers on "
            f"127.0.0.1:{args.port}."
        )
        codes = launch_local(command, workers=args.workers, port=args.port)
        print("exit codes:", codes)
        return max(codes.values())
    role = os.environ.get("KERASTUNER_TUNER_ID")
    print(
        f"Sweep {config['project_name']!r}: recipe {config['recipe']}, "
        f"data {config['data']}, tuner {config['tuner']}, "
        f"{config['max_trials']} trials x {_budget(config)}"
        + (f" (distributed, this process: {role})" if role else ""),
        flush=True,
    )
    frame = run_config(config, verbose=1)
    project = pathlib.Path(config["directory"]) / config["project_name"]
    objective = f"best_{config['objective']}"
    if role and "chief" not in role:
        return 0
    if len(frame) and objective in frame.columns:
        ascending = metric_direction(config["objective"]) == "min"
        spread = [c for c in [f"{config['objective']}_std"] if c in frame]
        columns = ["trial_id", "status", objective, *spread] + [
            c for c in frame.columns if c in _hyperparameters(frame)
        ]
        top = frame.sort_values(objective, ascending=ascending)[columns]
        print(top.head(args.top).to_string(index=False))
        if config["plots"]:
            from toolkit.tuning import (
                plot_metric_vs_hyperparameters,
                plot_parallel_coordinates,
            )

            plot_metric_vs_hyperparameters(
                frame, objective, path=project / "metric_vs_hp.png"
            )
            plot_parallel_coordinates(
                frame, objective, path=project / "parallel_coordinates.png"
            )
    print(f"{len(frame)} trials; table: {project / 'trials.csv'}")
    return 0


def _budget(config):
    """What one trial runs: epochs, or reservoir draws for ESN trials."""
    from toolkit.tuning.config import SERIES_DATA

    if config["data"] in SERIES_DATA:
        draws = 3 if config["draws"] is None else config["draws"]
        return f"{draws} reservoir draws (closed-form fits)"
    return f"{config['epochs']} epochs"


def _hyperparameters(frame):
    from toolkit.tuning.plots import hyperparameter_columns

    return hyperparameter_columns(frame)


def _add_sweep(subparsers):
    parser = subparsers.add_parser(
        "sweep",
        help="run a keras-tuner sweep from a YAML/JSON configuration; "
        "resumes when run again",
    )
    parser.add_argument("config", help="the configuration file")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh instead of resuming",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run a chief and this many workers locally",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="the chief's port with --workers"
    )
    parser.add_argument(
        "--top", type=int, default=10, help="rows of the best-trials table"
    )
    parser.set_defaults(handler=_sweep)


def _lr_find(args):
    """Run the LR range test on a recipe and the shipped digits."""
    from recipes.config import resolve_recipe
    from toolkit.training import lr_range_test
    from toolkit.tuning.config import load_data

    builder, _ = resolve_recipe(args.recipe)
    (x, y), _ = load_data(args.data, {"seed": args.seed})
    model = builder()
    result = lr_range_test(
        model,
        x,
        y,
        batch_size=args.batch_size,
        steps=args.steps,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
    )
    for rule, lr in result.suggestions.items():
        default = " (default)" if rule == result.rule else ""
        print(f"{rule:>14}: {lr:.3g}{default}")
    if args.plot:
        result.plot(path=args.plot)
        print(f"plot: {args.plot}")
    return 0


def _add_lr_find(subparsers):
    parser = subparsers.add_parser(
        "lr-find", help="LR range test of a recipe on the shipped digits"
    )
    parser.add_argument("--recipe", default="mlp_classifier")
    parser.add_argument(
        "--data", default="digits", choices=["digits", "digits_images"]
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--min-lr", type=float, default=1e-6)
    parser.add_argument("--max-lr", type=float, default=10.0)
    parser.add_argument("--plot", default=None, help="save the plot here")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=_lr_find)


#: Each sub-command is a function adding its parser to the sub-parsers.
COMMANDS = [_add_demo]
COMMANDS += [_add_sweep, _add_lr_find]
COMMANDS += [_add_fine_tune]


def main(argv=None):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(
        prog="toolkit", description="Keras 3 curriculum toolkit."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
