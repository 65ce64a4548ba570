"""Learning the adding problem (T=100) with toolkit's LSTM and GRU.

Each model trains with Adam (learning rate 1e-3, `clipnorm=1.0`), batch 64,
on a fixed training set, and its test MSE is measured every
`--eval-every` steps; it stops at the first evaluation below `--target`
(0.01) or after `--max-steps`. A `SimpleRNN` of the same width shows the
baseline: predicting 1 gives MSE 1/6, about 0.167.

    python bench/adding_problem.py             # the benchmark page's table
    python bench/adding_problem.py --models gru --max-steps 2000
    BENCH_THREADS=1 python bench/adding_problem.py   # TF threads (default 2)
    python bench/adding_problem.py --plot-only     # redraw the figure

The learning curves go to docs/benchmarks/img/adding_problem.png.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _threads import pin_threads  # noqa: E402

pin_threads(int(os.environ.get("BENCH_THREADS", "2")))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from recipes import build_sequence_regressor  # noqa: E402
from toolkit.data import adding_problem  # noqa: E402

CELLS = {"lstm": "lstm", "gru": "gru", "simple_rnn": "simple_rnn"}


class StopBelow(keras.callbacks.Callback):
    """Stop at the first epoch whose `val_loss` is below `target`."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.reached_at = None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.target:
            self.reached_at = epoch + 1
            self.model.stop_training = True


def train(cell, args, data):
    (x, y), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)
    model = build_sequence_regressor(
        args.timesteps,
        2,
        cell=cell,
        units=args.units,
        learning_rate=args.learning_rate,
        clipnorm=1.0,
    )
    stop = StopBelow(args.target)
    epochs = args.max_steps // args.eval_every
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=args.seed)
        .repeat()
        .batch(args.batch_size)
    )
    start = time.perf_counter()
    history = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=args.eval_every,
        validation_data=(x_test, y_test),
        callbacks=[stop],
        verbose=args.verbose,
    )
    seconds = time.perf_counter() - start
    curve = history.history["val_loss"]
    return {
        "model": cell,
        "parameters": model.count_params(),
        "test_mse": float(curve[-1]),
        "best_test_mse": float(min(curve)),
        "steps": len(curve) * args.eval_every,
        "reached_target_at_step": (
            stop.reached_at * args.eval_every if stop.reached_at else None
        ),
        "seconds": seconds,
        "curve": [float(c) for c in curve],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=list(CELLS), choices=list(CELLS)
    )
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=50000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, default=6000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--target", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument(
        "--output", default=os.path.join(HERE, "results", "adding_problem.json")
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the learning curves from --output, train nothing",
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(args.output)
        return
    data = (
        adding_problem(args.train_size, args.timesteps, seed=args.seed),
        adding_problem(2000, args.timesteps, seed=args.seed + 1),
    )
    rows = []
    for name in args.models:
        row = train(CELLS[name], args, data)
        rows.append(row)
        print(
            json.dumps({k: v for k, v in row.items() if k != "curve"}),
            file=sys.stderr,
            flush=True,
        )
    print(
        f"Adding problem, T={args.timesteps}, {args.units} units, batch "
        f"{args.batch_size}, Adam {args.learning_rate:g} + clipnorm 1; "
        f"target test MSE < {args.target:g} (predicting 1: 0.167)"
    )
    print(
        "| model | parameters | test MSE | best test MSE | steps to "
        "target | steps run | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        reached = r["reached_target_at_step"] or "not reached"
        print(
            f"| {r['model']} | {r['parameters']} | {r['test_mse']:.4f} "
            f"| {r['best_test_mse']:.4f} | {reached} | {r['steps']} "
            f"| {r['seconds']:.0f} |"
        )
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"config": vars(args), "rows": rows}, f, indent=2)
    plot(args.output)


def plot(path):
    """Test MSE against training steps, one line per model, from `path`."""
    from _plots import load, pyplot, save

    saved = load(path)
    config = saved["config"]
    figure, ax = pyplot().subplots(figsize=(7, 4))
    for row in saved["rows"]:
        steps = [
            (i + 1) * config["eval_every"] for i in range(len(row["curve"]))
        ]
        ax.plot(steps, row["curve"], marker=".", label=row["model"])
    ax.axhline(config["target"], color="black", lw=0.8, ls="--", label="target")
    ax.axhline(1 / 6, color="grey", lw=0.8, ls=":", label="predicting 1 (1/6)")
    ax.set_yscale("log")
    ax.set_xlabel(f"training steps (batches of {config['batch_size']})")
    ax.set_ylabel("test MSE")
    ax.set_title(
        f"Adding problem, T={config['timesteps']}, {config['units']} units, "
        f"Adam {config['learning_rate']:g} + clipnorm 1",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save(figure, "adding_problem.png")


if __name__ == "__main__":
    main()
