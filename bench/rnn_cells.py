"""Speed and memory of toolkit's LSTM/GRU against Keras's, same run.

Batch 64, 100 time steps, 32 features, 128 units (the issue's shape). For
each layer, with and without `jit_compile`, this times one training step
(`train_on_batch`) and one inference (`predict_on_batch`) for ours and for
`keras.layers.LSTM` / `GRU`. Every configuration runs in a fresh subprocess
(so its peak resident memory is its own), and ours and Keras's alternate
over `--rounds` rounds; the table shows medians and Keras-time / our-time
(above 1 means ours is faster).

    python bench/rnn_cells.py            # full table, JSON in bench/results
    python bench/rnn_cells.py --rounds 1 --steps 5   # quick look
    python bench/rnn_cells.py --plot-only   # redraw the figure from JSON

The figure (speed-ups as bars) goes to docs/benchmarks/img/rnn_cells.png.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from functools import partial

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMPLEMENTATIONS = ("toolkit", "hoisted", "keras")


def worker(
    layer,
    implementation,
    jit,
    steps,
    batch,
    timesteps,
    features,
    units,
    threads,
):
    """Time one configuration; print a JSON line."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from _threads import pin_threads

    pin_threads(threads)
    import keras
    import numpy as np

    from toolkit import layers as ours

    keras.utils.set_random_seed(0)
    factory = {
        ("lstm", "toolkit"): ours.LSTM,
        ("gru", "toolkit"): ours.GRU,
        ("lstm", "hoisted"): partial(ours.LSTM, hoist_projection=True),
        ("gru", "hoisted"): partial(ours.GRU, hoist_projection=True),
        ("lstm", "keras"): keras.layers.LSTM,
        ("gru", "keras"): keras.layers.GRU,
    }[(layer, implementation)]
    model = keras.Sequential(
        [
            keras.Input((timesteps, features)),
            factory(units),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse", jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, timesteps, features)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    for _ in range(3):  # trace, compile, warm caches
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    result = {}
    for name, run in (
        ("train", lambda: model.train_on_batch(x, y)),
        ("infer", lambda: model.predict_on_batch(x)),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            run()
        result[f"{name}_s"] = (time.process_time() - cpu) / steps
        result[f"{name}_wall_s"] = (time.perf_counter() - wall) / steps
    result["peak_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    print(json.dumps(result))


def run_one(args, layer, implementation, jit):
    command = [
        sys.executable,
        __file__,
        "--worker",
        layer,
        implementation,
        str(int(jit)),
        "--steps",
        str(args.steps),
        "--batch",
        str(args.batch),
        "--timesteps",
        str(args.timesteps),
        "--features",
        str(args.features),
        "--units",
        str(args.units),
        "--threads",
        str(args.threads),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        command, capture_output=True, text=True, env=env, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("LAYER", "IMPL", "JIT"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow threads per process (both sides)",
    )
    parser.add_argument(
        "--output", default=os.path.join(HERE, "results", "rnn_cells.json")
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the figure from --output, measure nothing",
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(args.output)
        return
    if args.worker:
        layer, implementation, jit = args.worker
        worker(
            layer,
            implementation,
            bool(int(jit)),
            args.steps,
            args.batch,
            args.timesteps,
            args.features,
            args.units,
            args.threads,
        )
        return
    rows = []
    for layer in ("lstm", "gru"):
        for jit in (False, True):
            samples = {impl: [] for impl in IMPLEMENTATIONS}
            for _ in range(args.rounds):
                for implementation in IMPLEMENTATIONS:
                    samples[implementation].append(
                        run_one(args, layer, implementation, jit)
                    )

            def median(impl, key):
                return statistics.median(s[key] for s in samples[impl])

            row = {"layer": layer, "jit_compile": jit}
            for impl in IMPLEMENTATIONS:
                for key in (
                    "train_s",
                    "train_wall_s",
                    "infer_s",
                    "infer_wall_s",
                    "peak_mb",
                ):
                    row[f"{impl}_{key}"] = median(impl, key)
            for impl in ("toolkit", "hoisted"):
                for key in ("train", "infer"):
                    row[f"{impl}_{key}_speedup"] = (
                        row[f"keras_{key}_s"] / row[f"{impl}_{key}_s"]
                    )
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(
        f"batch {args.batch}, {args.timesteps} steps, {args.features} "
        f"features, {args.units} units, {args.threads} TF thread(s); "
        "CPU ms per step, medians of "
        f"{args.rounds} rounds x {args.steps} steps; speed-up = Keras / "
        "ours"
    )
    print(
        "| layer | jit | train: ours / hoisted / Keras | speed-up "
        "(ours, hoisted) | inference: ours / hoisted / Keras | speed-up "
        "(ours, hoisted) | peak MB: ours / Keras |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["layer"], str(r["jit_compile"])]
        for key in ("train", "infer"):
            cells.append(
                " / ".join(
                    f"{1e3 * r[f'{impl}_{key}_s']:.1f}"
                    for impl in IMPLEMENTATIONS
                )
            )
            cells.append(
                f"{r[f'toolkit_{key}_speedup']:.2f}x, "
                f"{r[f'hoisted_{key}_speedup']:.2f}x"
            )
        cells.append(f"{r['toolkit_peak_mb']:.0f} / {r['keras_peak_mb']:.0f}")
        print("| " + " | ".join(cells) + " |")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"config": vars(args), "rows": rows}, f, indent=2)
    plot(args.output)


def plot(path):
    """Speed-ups over Keras (Keras time / ours) as bars, from `path`."""
    from _plots import grouped_bars, load, pyplot, save

    saved = load(path)
    config, rows = saved["config"], saved["rows"]
    categories, series = [], {"ours (default)": [], "hoisted projection": []}
    for row in rows:
        for key, label in (("train", "train"), ("infer", "inference")):
            jit = ", XLA" if row["jit_compile"] else ""
            categories.append(f"{row['layer'].upper()}\n{label}{jit}")
            series["ours (default)"].append(row[f"toolkit_{key}_speedup"])
            series["hoisted projection"].append(row[f"hoisted_{key}_speedup"])
    figure, ax = pyplot().subplots(figsize=(9, 3.8))
    grouped_bars(ax, categories, series, reference=1.0)
    ax.set_ylabel("speed-up over Keras (x)")
    ax.set_title(
        f"LSTM and GRU against Keras, CPU time per step (batch "
        f"{config['batch']}, {config['timesteps']} steps, {config['units']} "
        f"units, {config['threads']} thread); above 1: ours faster",
        fontsize=9,
    )
    save(figure, "rnn_cells.png")


if __name__ == "__main__":
    main()
