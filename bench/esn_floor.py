"""How fast can a 500-unit ESN be here, without Keras? (the floor under
the 0.5x target of the ESN benchmark)

For each seed, in one process, one thread each, on the Mackey-Glass
protocol of `bench/esn.py` (500 units, spectral radius 1.25, leak 0.3,
ridge 1e-6, washout 100, 2000 training and 1000 test steps):

- `reservoirpy`: ReservoirPy, as `bench/esn.py` runs it;
- `toolkit`: `toolkit.models.ESN`, as `bench/esn.py` runs it;
- `bare`: the same work with no Keras model or layer: the reservoir drawn
  by the very code of `toolkit.layers.Reservoir` (NumPy, and ARPACK for
  the radius), the dense recurrence in one XLA-compiled TensorFlow loop
  (training steps, then the test steps from the last state), the float64
  normal equations and the Cholesky solve of
  `toolkit.layers.reservoir.RidgeRegression`, the readout in NumPy.

`bare` draws the same matrices as `toolkit`, so their NRMSEs agree (the
script checks it): the difference in time is the cost of the Keras model
and of `ESN`'s glue, and `bare`'s ratio to ReservoirPy is what a
TensorFlow implementation of this design costs at best on this machine.

Run: python bench/esn_floor.py --seeds 20
     python bench/esn_floor.py --plot-only   # redraw the figure from JSON

The figure goes to docs/benchmarks/img/esn_floor.png.
"""

import argparse
import json
import os
import pathlib
import sys
import time
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _threads import pin_blas, pin_threads  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--output",
        default=str(ROOT / "bench" / "results" / "esn_floor.json"),
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the figure from --output, measure nothing",
    )
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    pin_blas(ARGS.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import esn as bench  # noqa: E402  (after pin_blas: it imports NumPy)
import numpy as np  # noqa: E402

HP = dict(units=500, sr=1.25, leak=0.3, ridge=1e-6, washout=100)
N_TRAIN, N_TEST = 2000, 1000


def bare_loop():
    """`states = run(W, drive, x0)`: the leaky recurrence, XLA-compiled."""
    import tensorflow as tf

    leak = HP["leak"]

    @tf.function(jit_compile=True)
    def run(recurrent, drive, state):
        def body(t, state, states):
            pre = drive[t][None] + tf.matmul(state, recurrent)
            state = state + leak * (tf.tanh(pre) - state)
            return t + 1, state, states.write(t, state[0])

        steps = tf.shape(drive)[0]
        states = tf.TensorArray(tf.float32, size=steps)
        _, state, states = tf.while_loop(
            lambda t, *_: t < steps, body, (0, state, states)
        )
        return states.stack(), state

    return run


def run_bare(loop, x_train, y_train, x_test, y_test, seed):
    import tensorflow as tf

    from toolkit.layers.reservoir import RidgeRegression, reservoir

    times = {}
    start = time.perf_counter()
    # The draws of `Reservoir.build`, in its order, by its own code.
    layer = types.SimpleNamespace(
        units=HP["units"],
        connectivity=0.1,
        spectral_radius=HP["sr"],
        _generator_seed=seed,
    )
    rng = np.random.default_rng(seed)
    recurrent = reservoir.Reservoir._recurrent_matrix(layer, rng)
    kernel = reservoir._sparse_signs(rng, (1, HP["units"]), 0.1)
    recurrent = tf.constant(recurrent, tf.float32)
    kernel = kernel.astype("float32")
    times["init"] = time.perf_counter() - start

    start = time.perf_counter()
    state = tf.zeros((1, HP["units"]))
    drive = tf.constant(x_train.reshape(-1, 1).astype("float32") @ kernel)
    states, state = loop(recurrent, drive, state)
    solver = RidgeRegression(HP["ridge"])
    washout = HP["washout"]
    solver.update(states.numpy()[washout:], y_train.reshape(-1, 1)[washout:])
    weights, bias = solver.solve()
    times["fit"] = time.perf_counter() - start

    start = time.perf_counter()
    drive = tf.constant(x_test.reshape(-1, 1).astype("float32") @ kernel)
    states, _ = loop(recurrent, drive, state)
    prediction = states.numpy() @ weights + bias
    times["predict"] = time.perf_counter() - start
    result = {"nrmse": bench.nrmse(prediction, y_test), **times}
    result["total"] = sum(times.values())
    return result


def main():
    if ARGS.plot_only:
        plot(ARGS.output)
        return
    pin_threads(ARGS.threads)
    series = bench.scaled_mackey_glass(N_TRAIN + N_TEST, seed=0)
    x, y = series[:-1], series[1:]
    split = (x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:])
    loop = bare_loop()
    # Compile every path once (not timed), as bench/esn.py leaves out the
    # first seed's compilation from its medians.
    run_bare(loop, *split, seed=10_000)
    bench.run_ours(HP, *split, seed=10_000)
    rows = []
    for seed in range(ARGS.seeds):
        row = {
            "bare": run_bare(loop, *split, seed),
            "toolkit": bench.run_ours(HP, *split, seed),
            "reservoirpy": bench.run_reservoirpy(HP, *split, seed),
        }
        row["reservoirpy"].pop("weights")
        if not np.isclose(
            row["bare"]["nrmse"], row["toolkit"]["nrmse"], rtol=1e-3
        ):
            raise AssertionError(
                f"seed {seed}: the bare pipeline's NRMSE "
                f"{row['bare']['nrmse']:.4g} differs from the ESN's "
                f"{row['toolkit']['nrmse']:.4g}: not the same work"
            )
        rows.append(row)
        print(
            f"  seed {seed}: total bare {row['bare']['total']:.3f} s, "
            f"toolkit {row['toolkit']['total']:.3f} s, ReservoirPy "
            f"{row['reservoirpy']['total']:.3f} s",
            flush=True,
        )
    summary = {}
    for library in ("bare", "toolkit", "reservoirpy"):
        summary[library] = {
            key: float(np.median([r[library][key] for r in rows]))
            for key in ("init", "fit", "predict", "total", "nrmse")
        }
    reference = summary["reservoirpy"]["total"]
    print(
        f"\n500 units, {ARGS.seeds} seeds, {ARGS.threads} thread(s) each; "
        "medians (s)\n"
    )
    print("| pipeline | init | fit | predict | total | ratio to ReservoirPy |")
    print("|---|---:|---:|---:|---:|---:|")
    for library, values in summary.items():
        print(
            f"| {library} | {values['init']:.4f} | {values['fit']:.4f} | "
            f"{values['predict']:.4f} | {values['total']:.4f} | "
            f"{values['total'] / reference:.2f} |"
        )
    ratios = [r["bare"]["total"] / r["reservoirpy"]["total"] for r in rows]
    print(
        f"\nbare / ReservoirPy seed by seed: min {min(ratios):.2f}, median "
        f"{np.median(ratios):.2f}, max {max(ratios):.2f}"
    )
    pathlib.Path(ARGS.output).write_text(
        json.dumps(
            {"arguments": vars(ARGS), "summary": summary, "seeds": rows},
            indent=1,
        )
    )
    print(f"saved {ARGS.output}")
    plot(ARGS.output)


PIPELINES = {
    "bare": "no Keras (bare)",
    "toolkit": "toolkit.models.ESN",
    "reservoirpy": "ReservoirPy",
}


def plot(path):
    """Median init, fit and predict times per pipeline, stacked, from
    `path`, each bar labelled with its ratio to ReservoirPy."""
    from _plots import load, pyplot, save

    saved = load(path)
    summary = saved["summary"]
    names = [name for name in PIPELINES if name in summary]
    reference = summary["reservoirpy"]["total"]
    figure, ax = pyplot().subplots(figsize=(7, 2.8))
    left = [0.0] * len(names)
    for index, part in enumerate(("init", "fit", "predict")):
        widths = [summary[name][part] for name in names]
        ax.barh(
            [PIPELINES[name] for name in names],
            widths,
            left=left,
            color=f"C{index}",
            label=part,
        )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, name in enumerate(names):
        total = summary[name]["total"]
        ax.text(
            left[row],
            row,
            f" {total:.3f} s ({total / reference:.2f}x)",
            va="center",
        )
    ax.invert_yaxis()
    ax.set_xlim(0, 1.45 * max(left))
    ax.set_xlabel("seconds (medians over seeds)")
    ax.set_title(
        f"500-unit ESN on Mackey-Glass, {saved['arguments']['seeds']} seeds, "
        f"{saved['arguments']['threads']} thread each",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="upper right")
    save(figure, "esn_floor.png")


if __name__ == "__main__":
    main()
