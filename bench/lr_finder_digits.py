"""Does the LR range test find a good learning rate? (UCI digits)

For an MLP and a small CNN on the shipped UCI handwritten digits (1,347
training / 450 validation images, stratified, seed 0):

1. run the LR range test (Smith 2015) from 1e-4 to 10 over one epoch of
   batches (42), smoothing 0.9 (the default 0.98 averages over ~50
   batches, longer than this short test);
2. train from the same initial weights at each rule's suggestion and at
   each learning rate of a fixed grid 1e-4 ... 1, for the same number of
   epochs with a constant learning rate;
3. compare the final validation loss of the default suggestion ("valley")
   with the best of the grid: the target is within 10%.

Prints the table, saves `bench/results/lr_finder_digits.json` and the range
test plots `bench/results/lr_range_test_digits_{mlp,cnn}.png`.

Run (about 10 minutes on 2 busy CPU cores):

    python bench/lr_finder_digits.py
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
from toolkit.training import lr_range_test  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
MODELS = {
    "mlp": (build_mlp_classifier, "flat", {"hidden_units": (128, 64)}),
    "cnn": (build_cnn_classifier, "image", {"filters": (16, 32)}),
}


MOMENTUM = [0.9]


def optimizer(learning_rate):
    return keras.optimizers.SGD(learning_rate, momentum=MOMENTUM[0])


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
    history = model.fit(x, y, validation_data=validation, epochs=epochs,
                        batch_size=batch_size, verbose=0)
    loss = history.history["val_loss"][-1]
    return {
        "val_loss": float(loss) if np.isfinite(loss) else float("inf"),
        "val_accuracy": float(history.history["val_accuracy"][-1]),
    }


def run(name, epochs, batch_size, seed, grid, smoothing):
    shape = MODELS[name][1]
    data = digits_split(0.25, shape=shape, seed=0)
    (x, y), _ = data
    model = build(name, seed)
    initial = model.get_weights()
    batches = len(x) // batch_size

    started = time.perf_counter()
    result = lr_range_test(model, x, y, batch_size=batch_size,
                           steps=batches, min_lr=1e-4, max_lr=10.0,
                           smoothing=smoothing)
    range_seconds = time.perf_counter() - started
    # One ordinary epoch of a fresh model, tracing included like the test.
    fresh = build(name, seed)
    started = time.perf_counter()
    fresh.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    epoch_seconds = time.perf_counter() - started
    suffix = "" if MOMENTUM[0] == 0.9 else f"_momentum{MOMENTUM[0]:g}"
    result.plot(path=RESULTS / f"lr_range_test_digits_{name}{suffix}.png",
                title=f"LR range test, {name.upper()} on the digits "
                f"(SGD, momentum {MOMENTUM[0]:g})")

    rows = []
    for rule, lr in result.suggestions.items():
        rows.append({"model": name, "source": f"suggestion: {rule}",
                     "learning_rate": lr,
                     **train(name, initial, lr, data, epochs, batch_size,
                             seed)})
    for lr in grid:
        rows.append({"model": name, "source": "grid", "learning_rate": lr,
                     **train(name, initial, lr, data, epochs, batch_size,
                             seed)})
    best_grid = min(r["val_loss"] for r in rows if r["source"] == "grid")
    chosen = next(r for r in rows if r["source"] == "suggestion: valley")
    summary = {
        "model": name,
        "range_test_steps": result.steps,
        "batches_per_epoch": batches,
        "range_test_epochs": result.steps / batches,
        "range_test_seconds": range_seconds,
        "one_epoch_seconds": epoch_seconds,
        "suggestions": result.suggestions,
        "valley_val_loss": chosen["val_loss"],
        "best_grid_val_loss": best_grid,
        "ratio_to_best_grid": chosen["val_loss"] / best_grid,
        "within_10_percent": chosen["val_loss"] <= 1.10 * best_grid,
    }
    return rows, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoothing", type=float, default=0.9,
                        help="of the range test; 0.9 suits its ~40 steps")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--momentum", type=float, default=0.9,
                        help="of SGD, in the range test and the training")
    parser.add_argument("--quick", action="store_true",
                        help="a 3-point grid, for a smoke run")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    MOMENTUM[0] = args.momentum
    grid = [1e-3, 1e-2, 1e-1] if args.quick else GRID
    rows, summaries = [], []
    for name in args.models:
        model_rows, summary = run(name, args.epochs, args.batch_size,
                                  args.seed, grid, args.smoothing)
        rows += model_rows
        summaries.append(summary)

    print(f"\nUCI digits, SGD (momentum {args.momentum:g}), batch "
          f"{args.batch_size}, "
          f"{args.epochs} epochs at a constant learning rate; final "
          "validation loss and accuracy\n")
    print("| model | learning rate | from | val loss | val acc |")
    print("|---|---:|---|---:|---:|")
    for row in rows:
        print(f"| {row['model']} | {row['learning_rate']:.3g} | "
              f"{row['source']} | {row['val_loss']:.4f} | "
              f"{row['val_accuracy']:.3f} |")
    print("\n| model | range test: batches (epochs) | range test s / "
          "epoch s | valley val loss | best grid val loss | ratio | "
          "within 10% |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for s in summaries:
        print(f"| {s['model']} | {s['range_test_steps']} "
              f"({s['range_test_epochs']:.2f}) | "
              f"{s['range_test_seconds'] / s['one_epoch_seconds']:.2f} | "
              f"{s['valley_val_loss']:.4f} | {s['best_grid_val_loss']:.4f} "
              f"| {s['ratio_to_best_grid']:.3f} | "
              f"{'yes' if s['within_10_percent'] else 'NO'} |")
    suffix = "" if args.momentum == 0.9 else f"_momentum{args.momentum:g}"
    output = RESULTS / f"lr_finder_digits{suffix}.json"
    output.write_text(json.dumps(
        {"arguments": vars(args), "rows": rows, "summaries": summaries},
        indent=1,
    ))
    print(f"\nsaved {output}")


if __name__ == "__main__":
    main()
