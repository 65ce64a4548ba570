"""The `toolkit` command line: `toolkit demo`, and more sub-commands."""

import argparse
import os
import sys


def _demo(args):
    """Train a small LSTM on the adding problem and compare to a baseline."""
    import numpy as np

    from recipes import build_sequence_regressor
    from toolkit.data import adding_problem

    x, y = adding_problem(args.samples, args.timesteps, seed=args.seed)
    x_test, y_test = adding_problem(1000, args.timesteps, seed=args.seed + 1)
    model = build_sequence_regressor(
        args.timesteps, 2, cell="lstm", units=args.units,
        learning_rate=args.learning_rate, clipnorm=1.0,
    )
    print(
        f"Adding problem, T={args.timesteps}: {args.samples} training "
        f"sequences, LSTM with {args.units} units "
        f"({model.count_params()} parameters)."
    )
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
              validation_split=0.1, verbose=1)
    mse = float(model.evaluate(x_test, y_test, verbose=0)[0])
    baseline = float(np.mean((y_test - y.mean()) ** 2))
    print(f"test MSE: {mse:.4f}   baseline (predict the mean): "
          f"{baseline:.4f}   ratio: {mse / baseline:.3f}")
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


#: Each sub-command is a function adding its parser to the sub-parsers.
COMMANDS = [_add_demo]


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
