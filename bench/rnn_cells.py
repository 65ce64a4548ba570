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
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def worker(layer, implementation, jit, steps, batch, timesteps, features,
           units):
    """Time one configuration; print a JSON line."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.path.insert(0, ROOT)
    import keras
    import numpy as np

    from toolkit import layers as ours

    keras.utils.set_random_seed(0)
    factory = {
        ("lstm", "toolkit"): ours.LSTM,
        ("gru", "toolkit"): ours.GRU,
        ("lstm", "keras"): keras.layers.LSTM,
        ("gru", "keras"): keras.layers.GRU,
    }[(layer, implementation)]
    model = keras.Sequential([
        keras.Input((timesteps, features)),
        factory(units),
        keras.layers.Dense(1),
    ])
    model.compile("adam", "mse", jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, timesteps, features)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    for _ in range(3):  # trace, compile, warm caches
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    train = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    for _ in range(steps):
        model.predict_on_batch(x)
    infer = (time.perf_counter() - start) / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"train_s": train, "infer_s": infer,
                      "peak_mb": peak_mb}))


def run_one(args, layer, implementation, jit):
    command = [
        sys.executable, __file__, "--worker", layer, implementation,
        str(int(jit)), "--steps", str(args.steps), "--batch",
        str(args.batch), "--timesteps", str(args.timesteps), "--features",
        str(args.features), "--units", str(args.units),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(command, capture_output=True, text=True, env=env,
                         check=True).stdout
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
    parser.add_argument("--output", default=os.path.join(
        HERE, "results", "rnn_cells.json"))
    args = parser.parse_args()
    if args.worker:
        layer, implementation, jit = args.worker
        worker(layer, implementation, bool(int(jit)), args.steps, args.batch,
               args.timesteps, args.features, args.units)
        return
    rows = []
    for layer in ("lstm", "gru"):
        for jit in (False, True):
            samples = {"toolkit": [], "keras": []}
            for _ in range(args.rounds):
                for implementation in ("toolkit", "keras"):
                    samples[implementation].append(
                        run_one(args, layer, implementation, jit)
                    )

            def median(impl, key):
                return statistics.median(s[key] for s in samples[impl])

            row = {"layer": layer, "jit_compile": jit}
            for impl in ("toolkit", "keras"):
                for key in ("train_s", "infer_s", "peak_mb"):
                    row[f"{impl}_{key}"] = median(impl, key)
            row["train_speedup"] = row["keras_train_s"] / row["toolkit_train_s"]
            row["infer_speedup"] = row["keras_infer_s"] / row["toolkit_infer_s"]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    header = ("| layer | jit | train ms (ours / Keras) | Keras/ours "
              "| inference ms (ours / Keras) | Keras/ours "
              "| peak MB (ours / Keras) |")
    print(f"batch {args.batch}, {args.timesteps} steps, {args.features} "
          f"features, {args.units} units; medians of {args.rounds} rounds "
          f"x {args.steps} steps")
    print(header)
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['layer']} | {r['jit_compile']} "
            f"| {1e3 * r['toolkit_train_s']:.1f} / "
            f"{1e3 * r['keras_train_s']:.1f} | {r['train_speedup']:.2f}x "
            f"| {1e3 * r['toolkit_infer_s']:.1f} / "
            f"{1e3 * r['keras_infer_s']:.1f} | {r['infer_speedup']:.2f}x "
            f"| {r['toolkit_peak_mb']:.0f} / {r['keras_peak_mb']:.0f} |"
        )
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"config": vars(args), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
