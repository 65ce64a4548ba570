"""How stable are the LR range test's suggestions across initial weights?

For each seed (the initial weights; the data split stays seed 0), on the
UCI digits with SGD (momentum 0.9, as in `lr_finder_digits.py`): run the
range test at batch 8 over one epoch of data (1e-4 to 10, auto
smoothing), then train at batch 32 for 15 epochs at each rule's
suggestion and at 0.03 (the best of `lr_finder_digits.py`'s grid for
both models at seed 0), and print the final validation losses and their
ratio to the one at 0.03. Saves `bench/results/lr_finder_digits_seeds.json`.

Run (about 6 minutes on 2 busy cores):

    python bench/lr_finder_digits_seeds.py --seeds 1 2 --threads 1
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import lr_finder_digits as bench  # noqa: E402

from toolkit.data import digits_split  # noqa: E402
from toolkit.training import lr_range_test  # noqa: E402

REFERENCE_LR = 0.03


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", default=list(bench.MODELS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rows = []
    for seed in args.seeds:
        for name in args.models:
            data = digits_split(0.25, shape=bench.MODELS[name][1], seed=0)
            (x, y), _ = data
            model = bench.build(name, seed)
            initial = model.get_weights()
            result = lr_range_test(
                model,
                x,
                y,
                batch_size=8,
                steps=len(x) // 8,
                min_lr=1e-4,
                max_lr=10.0,
            )
            learning_rates = dict(result.suggestions, reference=REFERENCE_LR)
            losses = {
                source: bench.train(
                    name, initial, lr, data, args.epochs, 32, seed
                )["val_loss"]
                for source, lr in learning_rates.items()
            }
            rows.append(
                {
                    "seed": seed,
                    "model": name,
                    "learning_rates": learning_rates,
                    "val_losses": losses,
                }
            )
    print(
        "\nSGD momentum 0.9; a rule's lr (final val loss / val loss at "
        f"{REFERENCE_LR})\n"
    )
    print(
        "| seed | model | minimum_tenth (default) | steepest | valley | "
        f"val loss at {REFERENCE_LR} |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for row in rows:
        reference = row["val_losses"]["reference"]
        cells = " | ".join(
            f"{row['learning_rates'][rule]:.3g} "
            f"({row['val_losses'][rule] / reference:.2f})"
            for rule in ("minimum_tenth", "steepest", "valley")
        )
        print(f"| {row['seed']} | {row['model']} | {cells} | {reference:.4f} |")
    output = bench.RESULTS / "lr_finder_digits_seeds.json"
    output.write_text(
        json.dumps({"arguments": vars(args), "rows": rows}, indent=1)
    )
    print(f"\nsaved {output}")


if __name__ == "__main__":
    main()
