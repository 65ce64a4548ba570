"""The `toolkit` command line: `toolkit demo`, `toolkit sweep CONFIG` and
`toolkit lr-find` (also `python -m recipes.cli ...`). It lives with the
recipes because it names them.

Every command speaks plainly: TensorFlow's start-up lines (oneDNN, the
CUDA probe's `failed call to cuInit` on a machine without a GPU) are
hidden unless `--verbose`; an error prints one line, `toolkit: error:
<what>`, and exits 2 for a wrong argument, path or configuration (found
before anything runs) or 1 for a run that failed; Ctrl-C prints what was
kept and exits 130. `--verbose` also prints the traceback.
"""

import argparse
import os
import sys
import traceback

from recipes._startup import import_tensorflow_quietly
from recipes.cli_fine_tune import _add_fine_tune

#: Exit codes: success, a run that failed, a usage or configuration error,
#: and Ctrl-C (128 + SIGINT, the shell's convention).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class SweepFailed(RuntimeError):
    """No trial of a sweep trained (every one failed)."""


def _demo(args):
    """Train a small LSTM on the adding problem and compare to a baseline."""
    import keras
    import numpy as np

    from recipes import build_sequence_regressor
    from toolkit.data import adding_problem

    x, y = adding_problem(args.samples, args.timesteps, seed=args.seed)
    x_test, y_test = adding_problem(1000, args.timesteps, seed=args.seed + 1)
    keras.utils.set_random_seed(args.seed)
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
    args.stage = "run"
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
    return EXIT_OK if np.isfinite(mse) else EXIT_FAILED


def _add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo", help="train an LSTM on the adding problem (no download)"
    )
    parser.add_argument(
        "--timesteps", type=_positive_int, default=30, help="sequence length"
    )
    parser.add_argument(
        "--samples",
        type=_positive_int,
        default=8000,
        help="training sequences",
    )
    parser.add_argument(
        "--units", type=_positive_int, default=64, help="LSTM units"
    )
    parser.add_argument(
        "--epochs", type=_positive_int, default=10, help="training epochs"
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=64, help="batch size"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=3e-3, help="Adam's rate"
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the data and of Keras (weights, batch order)",
    )
    parser.set_defaults(handler=_demo)


def _sweep(args):
    """Run the sweep a YAML or JSON configuration describes."""
    import pathlib

    from recipes.config import prepare_config
    from toolkit.tuning.config import describe_data, load_config
    from toolkit.tuning.distributed import launch_local

    config = load_config(args.config)
    if args.overwrite:
        config["overwrite"] = True
    project = pathlib.Path(config["directory"]) / config["project_name"]
    args.kept = project / "trials.csv"
    if args.workers:
        command = [sys.executable, "-m", "recipes.cli", "sweep", args.config]
        command += ["--overwrite"] * args.overwrite
        command += ["--verbose"] * args.verbose
        print(
            f"Starting a chief and {args.workers} workers on "
            f"127.0.0.1:{args.port}."
        )
        args.stage = "run"
        codes = launch_local(command, workers=args.workers, port=args.port)
        print("exit codes:", codes)
        return max(codes.values())
    arguments = prepare_config(config, verbose=1, source=args.config)
    role = os.environ.get("KERASTUNER_TUNER_ID")
    print(
        f"Sweep {config['project_name']!r}: recipe {config['recipe']}, "
        f"data {describe_data(config)}, tuner {config['tuner']}, "
        f"{config['max_trials']} trials x {_budget(config)}, objective "
        f"{config['objective']}"
        + (f" (distributed, this process: {role})" if role else ""),
        flush=True,
    )
    from toolkit.tuning.sweep import sweep

    args.stage = "run"
    frame = sweep(**arguments)
    if role and "chief" not in role:
        return EXIT_OK
    return _report_sweep(frame, config, project, args)


def _report_sweep(frame, config, project, args):
    """Print the best trials and every file written; the exit code says
    whether any trial trained."""
    from toolkit.tuning.records import metric_direction

    objective = f"best_{config['objective']}"
    statuses = frame["status"] if "status" in frame else []
    trained = frame[[s in ("completed", "stopped_early") for s in statuses]]
    written = [f"{project / 'trials.csv'} ({len(frame)} trials)"]
    written.append(f"{project / 'records'} (one JSON record per trial)")
    if len(trained) and objective in frame.columns:
        ascending = metric_direction(config["objective"]) == "min"
        columns = ["trial_id", "status", *_metric_columns(frame, objective)]
        columns += [c for c in _hyperparameters(frame) if c not in columns]
        top = trained.sort_values(objective, ascending=ascending)[columns]
        print(f"Best trials by {objective}:")
        print(top.head(args.top).to_string(index=False))
        if config["plots"] and trained[objective].notna().any():
            written += _plot(frame, objective, project)
    failed = [s for s in statuses if s == "failed"]
    print("Wrote: " + "; ".join(map(str, written)))
    if failed:
        print(
            f"{len(failed)} of {len(frame)} trials failed; their errors "
            "are in the table's `error` column."
        )
    if not len(trained):
        errors = [e for e in frame.get("error", []) if isinstance(e, str)]
        first = f"; the first error: {errors[0]}" if errors else ""
        raise SweepFailed(
            f"no trial of the sweep trained ({len(frame)} trials: "
            f"{_count(statuses)}){first}"
        )
    return EXIT_OK


def _metric_columns(frame, objective):
    """The objective first, its spread, then the recipe's other metrics."""
    from toolkit.tuning.records import is_draw_column

    spread = objective[len("best_") :] + "_std"
    others = sorted(
        (
            c
            for c in frame.columns
            if c.startswith("best_")
            and c != objective
            and not is_draw_column(frame, c)
        ),
        key=lambda c: (not c.startswith("best_val_"), c),
    )
    return [objective] + [spread] * (spread in frame) + others


def _plot(frame, objective, project):
    from toolkit.tuning import (
        plot_metric_vs_hyperparameters,
        plot_parallel_coordinates,
    )

    paths = [project / "metric_vs_hp.png", project / "parallel_coordinates.png"]
    plot_metric_vs_hyperparameters(frame, objective, path=paths[0])
    plot_parallel_coordinates(frame, objective, path=paths[1])
    return paths


def _count(statuses):
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _budget(config):
    """What one trial runs: epochs, or reservoir draws for ESN trials."""
    if config["recipe"] == "esn":
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
    parser.add_argument(
        "config", help="the configuration file (.yaml, .yml or .json)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh instead of resuming (deletes the finished trials)",
    )
    parser.add_argument(
        "--workers",
        type=_non_negative_int,
        default=0,
        help="run a chief and this many workers locally (0: one process)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="the chief's port with --workers",
    )
    parser.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        help="rows of the best-trials table",
    )
    parser.set_defaults(handler=_sweep)


def _lr_find(args):
    """Run the LR range test on a recipe and the shipped digits."""
    import keras

    from recipes.config import MODELS, resolve_recipe
    from toolkit.training import lr_range_test
    from toolkit.tuning.config import load_data

    if args.recipe in MODELS:
        raise ValueError(
            "Argument `--recipe` must be a Keras recipe trained by "
            f"gradient descent; {args.recipe!r} fits in closed form. "
            f"Received: --recipe={args.recipe}"
        )
    builder, _ = resolve_recipe(args.recipe)
    (x, y), _ = load_data(args.data, {"seed": args.seed})
    # The same weights and batch order, hence the same rates, per seed.
    keras.utils.set_random_seed(args.seed)
    model = builder()
    optimizer = model.optimizer
    print(
        f"LR range test: recipe {args.recipe} ({model.count_params()} "
        f"parameters), optimizer {type(optimizer).__name__}, loss "
        f"{_loss_name(model)}, batch size {args.batch_size}, {args.steps} "
        f"steps, learning rate {args.min_lr:g} to {args.max_lr:g} "
        f"(exponential), data {args.data} ({len(x)} training examples), "
        f"seed {args.seed}",
        flush=True,
    )
    args.stage = "run"
    result = lr_range_test(
        model,
        x,
        y,
        batch_size=args.batch_size,
        steps=args.steps,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
    )
    print(f"tested {result.steps} steps; suggested learning rates:")
    for rule, lr in result.suggestions.items():
        default = " (default)" if rule == result.rule else ""
        print(f"{rule:>14}: {lr:.3g}{default}")
    if args.plot:
        result.plot(path=args.plot)
        print(f"Wrote: {args.plot}")
    return EXIT_OK


def _loss_name(model):
    loss = model.loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", str(loss))


def _add_lr_find(subparsers):
    parser = subparsers.add_parser(
        "lr-find", help="LR range test of a recipe on the shipped digits"
    )
    parser.add_argument(
        "--recipe",
        default="mlp_classifier",
        help="the recipe (recipes.build_<recipe>), built with its defaults",
    )
    parser.add_argument(
        "--data",
        default="digits",
        choices=["digits", "digits_images"],
        help="the shipped digits, flat or as 8x8x1 images",
    )
    parser.add_argument(
        "--steps", type=_int, default=100, help="batches of the test (>= 2)"
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=32, help="batch size"
    )
    parser.add_argument(
        "--min-lr", type=float, default=1e-6, help="first learning rate"
    )
    parser.add_argument(
        "--max-lr", type=float, default=10.0, help="last learning rate"
    )
    parser.add_argument(
        "--plot", default=None, help="save the plot to this file"
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the data split and of Keras (weights, batch order)",
    )
    parser.set_defaults(handler=_lr_find)


#: Each sub-command is a function adding its parser to the sub-parsers.
COMMANDS = [_add_demo]
COMMANDS += [_add_sweep, _add_lr_find]
COMMANDS += [_add_fine_tune]


def build_parser():
    """The `toolkit` argument parser: every command of `COMMANDS`, each
    with `--verbose` and its defaults in `--help`."""
    parser = argparse.ArgumentParser(
        prog="toolkit",
        description="Keras 3 curriculum toolkit.",
        epilog="Exit codes: 0 success, 1 the run failed, 2 a wrong "
        "argument, path or configuration, 130 interrupted (Ctrl-C).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(subparsers)
    for command in subparsers.choices.values():
        command.formatter_class = argparse.ArgumentDefaultsHelpFormatter
        command.add_argument(
            "--verbose",
            action="store_true",
            help="show TensorFlow's start-up log and full tracebacks",
        )
    return parser


def main(argv=None):
    """Run `toolkit` with `argv` (default: `sys.argv[1:]`); return the exit
    code (see `EXIT_OK` and the others)."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not args.verbose:
        import_tensorflow_quietly()
    args.stage, args.kept = "setup", None
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.verbose:
            traceback.print_exc()
        failed = args.stage == "run"
        print(
            f"toolkit: error: {_one_line(error, failed)}"
            + ("" if args.verbose else " (--verbose for the traceback)")
            * failed,
            file=sys.stderr,
            flush=True,
        )
        return EXIT_FAILED if failed else EXIT_USAGE


def _interrupted(args):
    if args.command == "sweep" and args.kept is not None:
        return (
            f"toolkit: interrupted; the finished trials are kept in "
            f"{args.kept} (the trial that was running reruns); resume "
            f"with the same command: toolkit sweep {args.config}"
        )
    return f"toolkit: interrupted; {args.command} kept nothing."


def _one_line(error, failed):
    """The error as one line; its type where the message alone is not
    plain (a KeyError's quoted key, a run's unexpected failure)."""
    text = " ".join(str(error).split()) or type(error).__name__
    plain = (ValueError, TypeError, OSError, ImportError, SweepFailed)
    if not isinstance(error, plain):
        text = f"{type(error).__name__}: {text}"
    return f"the run failed: {text}" if failed else text


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer, not {text!r}"
        ) from None


def _positive_int(text):
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, not {text}"
        )
    return value


def _non_negative_int(text):
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _seed(text):
    return _non_negative_int(text)


def _port(text):
    value = _int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be in 1..65535, not {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
