"""How much does the final validation loss move with the training seed?

The LR finder target (`lr_finder_digits.py`) compares single training runs:
a suggestion's final validation loss against the best of a grid, within
10%. This script measures the spread of that final loss when only the
training seed (the order of the batches; same initial weights, seed 0)
changes, at a few learning rates around the grid's best, for SGD with
momentum 0.9 at batch 32 for 15 epochs, as in `lr_finder_digits.py`.
Prints the table and saves `bench/results/lr_finder_digits_noise.json`.

Run (about 8 minutes on 2 busy cores):

    python bench/lr_finder_digits_noise.py --threads 1
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import lr_finder_digits as bench  # noqa: E402
import numpy as np  # noqa: E402

from toolkit.data import digits_split  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--learning-rates", type=float, nargs="+", default=[0.02, 0.03, 0.04]
    )
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(bench.MODELS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    bench.MOMENTUM[0] = args.momentum
    rows = []
    for name in args.models:
        data = digits_split(0.25, shape=bench.MODELS[name][1], seed=0)
        initial = bench.build(name, 0).get_weights()
        for lr in args.learning_rates:
            losses = [
                bench.train(name, initial, lr, data, args.epochs, 32, seed)[
                    "val_loss"
                ]
                for seed in args.train_seeds
            ]
            rows.append(
                {"model": name, "learning_rate": lr, "val_losses": losses}
            )
    print(
        f"\nSGD momentum {args.momentum:g}, batch 32, {args.epochs} epochs; "
        f"final val loss for training seeds {args.train_seeds}\n"
    )
    print("| model | learning rate | val losses | mean | max / min |")
    print("|---|---:|---|---:|---:|")
    for row in rows:
        losses = np.array(row["val_losses"])
        print(
            f"| {row['model']} | {row['learning_rate']:g} | "
            + ", ".join(f"{loss:.4f}" for loss in losses)
            + f" | {losses.mean():.4f} | {losses.max() / losses.min():.2f} |"
        )
    output = bench.RESULTS / "lr_finder_digits_noise.json"
    output.write_text(
        json.dumps({"arguments": vars(args), "rows": rows}, indent=1)
    )
    print(f"\nsaved {output}")


if __name__ == "__main__":
    main()
