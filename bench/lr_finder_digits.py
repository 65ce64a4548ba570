"""Does the LR range test find a good learning rate? (UCI digits)

For an MLP and a small CNN on the shipped UCI handwritten digits (1,347
training / 450 validation images, stratified, seed 0):

1. run the LR range test (Smith 2015) from 1e-4 to 10 over one epoch of
   data in batches of `--range-batch-size` (default 8: 168 steps, where
   the training batch of 32 gives only 42), with the default "auto"
   smoothing (a window of a tenth of the sweep);
2. train (batch `--batch-size`, default 32) from the same initial
   weights at each rule's suggestion, as found (no batch-size rescaling),
   at the `minimum_tenth` suggestion rescaled linearly to the training
   batch (x 32 / 8), and at each learning rate of a fixed grid
   1e-4 ... 1, for the same number of epochs at a constant learning rate;
3. compare the final validation loss of each suggestion with the best of
   the grid: the target is within 10% for the default rule
   (`minimum_tenth`, what `result.suggestion` returns).

With `--train-seeds N` every learning rate is trained N times (training
seeds `seed ... seed + N - 1`: the batch order; the initial weights stay
those of `seed`) and the mean final validation loss is compared: the
final loss of one run moves by 20-45% with the training seed alone
(`lr_finder_digits_noise.py`), more than the 10% target.

Prints the table, saves `bench/results/lr_finder_digits.json` and the range
test plots `bench/results/lr_range_test_digits_{mlp,cnn}.png`.

Run (about 10 minutes on 2 busy CPU cores):

    python bench/lr_finder_digits.py --threads 1
    python bench/lr_finder_digits.py --momentum 0 --threads 1
    python bench/lr_finder_digits.py --optimizer adam --threads 1
    python bench/lr_finder_digits.py --train-seeds 3 --threads 1
    python bench/lr_finder_digits.py --epochs 5 --quick   # smoke run
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from recipes import build_cnn_classifier, build_mlp_classifier  # noqa: E402
from toolkit.data import digits_split  # noqa: E402
from toolkit.training import auto_smoothing, lr_range_test  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
MODELS = {
    "mlp": (build_mlp_classifier, "flat", {"hidden_units": (128, 64)}),
    "cnn": (build_cnn_classifier, "image", {"filters": (16, 32)}),
}


MOMENTUM = [0.9]
OPTIMIZER = ["sgd"]
TRAIN_SEEDS = [1]


def optimizer(learning_rate):
    if OPTIMIZER[0] == "adam":
        return keras.optimizers.Adam(learning_rate)
    return keras.optimizers.SGD(learning_rate, momentum=MOMENTUM[0])


def describe_optimizer():
    if OPTIMIZER[0] == "adam":
        return "Adam"
    return f"SGD, momentum {MOMENTUM[0]:g}"


def output_suffix():
    if OPTIMIZER[0] == "adam":
        return "_adam"
    return "" if MOMENTUM[0] == 0.9 else f"_momentum{MOMENTUM[0]:g}"


def build(name, seed):
    builder, _, options = MODELS[name]
    keras.utils.set_random_seed(seed)
    return builder(optimizer=optimizer(1e-3), **options)


def train(name, initial, learning_rate, data, epochs, batch_size, seed):
    (x, y), validation = data
    model = build(name, seed)
    model.set_weights(initial)
    model.optimizer.learning_rate = learning_rate
    keras.utils.set_random_seed(seed)
    history = model.fit(
        x,
        y,
        validation_data=validation,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
    )
    loss = history.history["val_loss"][-1]
    return {
        "val_loss": float(loss) if np.isfinite(loss) else float("inf"),
        "val_accuracy": float(history.history["val_accuracy"][-1]),
    }


def train_mean(name, initial, learning_rate, data, epochs, batch_size, seed):
    """`train` for each training seed; the mean final val loss and
    accuracy, and each run's loss when there is more than one."""
    runs = [
        train(name, initial, learning_rate, data, epochs, batch_size, s)
        for s in range(seed, seed + TRAIN_SEEDS[0])
    ]
    result = {
        key: float(np.mean([run[key] for run in runs]))
        for key in ("val_loss", "val_accuracy")
    }
    if len(runs) > 1:
        result["val_losses"] = [run["val_loss"] for run in runs]
    return result


def run(name, epochs, batch_size, seed, grid, smoothing, range_batch_size):
    shape = MODELS[name][1]
    data = digits_split(0.25, shape=shape, seed=0)
    (x, y), _ = data
    model = build(name, seed)
    initial = model.get_weights()
    range_batches = len(x) // range_batch_size

    started = time.perf_counter()
    result = lr_range_test(
        model,
        x,
        y,
        batch_size=range_batch_size,
        steps=range_batches,
        min_lr=1e-4,
        max_lr=10.0,
        smoothing=smoothing,
    )
    range_seconds = time.perf_counter() - started
    # One ordinary epoch of a fresh model, tracing included like the test.
    fresh = build(name, seed)
    started = time.perf_counter()
    fresh.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    epoch_seconds = time.perf_counter() - started
    suffix = output_suffix()
    result.plot(
        path=RESULTS / f"lr_range_test_digits_{name}{suffix}.png",
        title=f"LR range test, {name.upper()} on the digits "
        f"({describe_optimizer()})",
    )

    rows = []
    for rule, lr in result.suggestions.items():
        rows.append(
            {
                "model": name,
                "source": f"suggestion: {rule}",
                "learning_rate": lr,
                **train_mean(name, initial, lr, data, epochs, batch_size, seed),
            }
        )
    scale = batch_size / range_batch_size
    if scale != 1:
        lr = result.suggestions["minimum_tenth"] * scale
        rows.append(
            {
                "model": name,
                "source": f"minimum_tenth x {scale:g} (linear)",
                "learning_rate": lr,
                **train_mean(name, initial, lr, data, epochs, batch_size, seed),
            }
        )
    for lr in grid:
        rows.append(
            {
                "model": name,
                "source": "grid",
                "learning_rate": lr,
                **train_mean(name, initial, lr, data, epochs, batch_size, seed),
            }
        )
    grid_rows = [r for r in rows if r["source"] == "grid"]
    best = min(grid_rows, key=lambda r: r["val_loss"])
    best_grid = best["val_loss"]
    chosen = next(
        r for r in rows if r["source"] == f"suggestion: {result.rule}"
    )
    summary = {
        "model": name,
        "range_test_steps": result.steps,
        "range_test_batch_size": range_batch_size,
        "smoothing": (
            auto_smoothing(range_batches) if smoothing == "auto" else smoothing
        ),
        "batches_per_epoch": range_batches,
        "range_test_epochs": result.steps / range_batches,
        "best_grid_learning_rate": best["learning_rate"],
        "ratios": {
            r["source"]: r["val_loss"] / best_grid
            for r in rows
            if r["source"] != "grid"
        },
        "range_test_seconds": range_seconds,
        "one_epoch_seconds": epoch_seconds,
        "suggestions": result.suggestions,
        "default_rule": result.rule,
        "default_val_loss": chosen["val_loss"],
        "best_grid_val_loss": best_grid,
        "ratio_to_best_grid": chosen["val_loss"] / best_grid,
        "within_10_percent": chosen["val_loss"] <= 1.10 * best_grid,
        "range_test_curve": {
            column: [float(value) for value in result.history[column]]
            for column in result.history.columns
        },
    }
    return rows, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--smoothing",
        default="auto",
        help='of the range test: "auto" or a float',
    )
    parser.add_argument(
        "--range-batch-size",
        type=int,
        default=8,
        help="batch of the range test (one epoch of data)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="TensorFlow intra/inter-op threads (0: TF's)",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument(
        "--momentum",
        type=float,
        default=0.9,
        help="of SGD, in the range test and the training",
    )
    parser.add_argument(
        "--train-seeds",
        type=int,
        default=1,
        help="train each learning rate this many times, compare means",
    )
    parser.add_argument(
        "--optimizer",
        choices=["sgd", "adam"],
        default="sgd",
        help="adam: Keras defaults except the learning rate",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 3-point grid, for a smoke run"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    MOMENTUM[0] = args.momentum
    OPTIMIZER[0] = args.optimizer
    TRAIN_SEEDS[0] = args.train_seeds
    smoothing = (
        args.smoothing if args.smoothing == "auto" else float(args.smoothing)
    )
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    grid = [1e-3, 1e-2, 1e-1] if args.quick else GRID
    rows, summaries = [], []
    for name in args.models:
        model_rows, summary = run(
            name,
            args.epochs,
            args.batch_size,
            args.seed,
            grid,
            smoothing,
            args.range_batch_size,
        )
        rows += model_rows
        summaries.append(summary)

    print(
        f"\nUCI digits, {describe_optimizer()}, range test at "
        f"batch {args.range_batch_size}, training at batch "
        f"{args.batch_size}, "
        f"{args.epochs} epochs at a constant learning rate; final "
        "validation loss and accuracy"
        + (
            ""
            if args.train_seeds == 1
            else f", mean over {args.train_seeds} training seeds"
        )
        + "\n"
    )
    print("| model | learning rate | from | val loss | val acc |")
    print("|---|---:|---|---:|---:|")
    for row in rows:
        print(
            f"| {row['model']} | {row['learning_rate']:.3g} | "
            f"{row['source']} | {row['val_loss']:.4f} | "
            f"{row['val_accuracy']:.3f} |"
        )
    default = f"suggestion: {summaries[0]['default_rule']}"
    columns = [
        source.removeprefix("suggestion: ")
        + (" (default)" if source == default else "")
        for source in summaries[0]["ratios"]
    ]
    print(
        "\n| model | range test: batches (epochs of data) | range test "
        "s / training epoch s | best grid val loss (lr) | "
        + " | ".join(columns)
        + " |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        ratios = list(s["ratios"].values())
        cells = " | ".join(
            f"{r:.2f}{'' if r <= 1.10 else ' (no)'}" for r in ratios
        )
        print(
            f"| {s['model']} | {s['range_test_steps']} "
            f"({s['range_test_epochs']:.2f}) | "
            f"{s['range_test_seconds'] / s['one_epoch_seconds']:.2f} | "
            f"{s['best_grid_val_loss']:.4f} "
            f"({s['best_grid_learning_rate']:.3g}) | {cells} |"
        )
    print(
        "\n(ratios: a suggestion's final val loss / the grid's best; "
        "(no) marks a miss of the 10% target)"
    )
    seeds = "" if args.train_seeds == 1 else f"_{args.train_seeds}seeds"
    output = RESULTS / f"lr_finder_digits{output_suffix()}{seeds}.json"
    output.write_text(
        json.dumps(
            {"arguments": vars(args), "rows": rows, "summaries": summaries},
            indent=1,
        )
    )
    print(f"\nsaved {output}")


if __name__ == "__main__":
    main()
