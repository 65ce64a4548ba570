"""Benchmark: multiple time scales against vanishing gradients.

Trains SimpleRNN, LeakyRNN (fixed, spectrum, learned), SkipRNN, a dilated
stack, ClockworkRNN, LSTM and GRU of comparable parameter counts under one
fixed budget of training steps on the adding problem and the copy-memory
task; prints one table (test MSE or recall accuracy, parameters, seconds
per step as a ratio to SimpleRNN in the same run), a speed table at equal
size, and saves the results as JSON and the gradient flow at
initialisation as a PNG in `docs/benchmarks/img/`.

Every finished (task, model) run is written to the JSON file at once; a
rerun with the same settings skips it, so an interrupted run resumes
(`--fresh` starts over, `--report` only prints the saved results,
`--plot-only` redraws the gradient-flow figure from them).

    python bench/timescales.py                 # the full grid, 2000 steps
    python bench/timescales.py --steps 400     # what fits ~30 min here
    python bench/timescales.py --steps 300 --tasks adding200 copy50 \
        --models simple_rnn leaky_learned lstm
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _threads import pin_threads  # noqa: E402

from toolkit.data import adding_problem, copy_memory  # noqa: E402
from toolkit.layers import (  # noqa: E402
    ClockworkRNN,
    LeakyRNN,
    SkipRNN,
)
from toolkit.training import gradient_flow, plot_gradient_flow  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TASKS = {
    "adding100": ("adding", 100),
    "adding200": ("adding", 200),
    "adding400": ("adding", 400),
    "copy50": ("copy", 50),
    "copy100": ("copy", 100),
}
MODELS = [
    "simple_rnn",
    "leaky_fixed",
    "leaky_spectrum",
    "leaky_learned",
    "skip",
    "dilated",
    "clockwork",
    "lstm",
    "gru",
]
N_SYMBOLS, COPY_LENGTH = 8, 10


def levels(timesteps):
    """Dilations / clockwork periods 1, 2, ..., 2^(L-1), 2^L <= T."""
    return max(1, int(math.floor(math.log2(timesteps))))


def recurrent_layers(
    kind, units, timesteps, return_sequences, activation="tanh"
):
    """The recurrent layers of model `kind` (the hyperparameters of each
    strategy, as functions of the sequence length `T`). `activation` is
    that of every cell but LSTM's and GRU's."""
    last = dict(return_sequences=return_sequences, activation=activation)
    gated = dict(return_sequences=return_sequences)
    if kind == "simple_rnn":
        return [keras.layers.SimpleRNN(units, name="simple_rnn", **last)]
    if kind == "leaky_fixed":  # one time constant, T / 4
        alpha = 1.0 - 4.0 / timesteps
        return [
            LeakyRNN(units, mode="fixed", alpha=alpha, name="leaky", **last)
        ]
    if kind in ("leaky_spectrum", "leaky_learned"):  # tau in [2, T]
        mode = kind.split("_")[1]
        return [
            LeakyRNN(
                units,
                mode=mode,
                tau_min=2.0,
                tau_max=timesteps,
                name="leaky",
                **last,
            )
        ]
    if kind == "skip":  # delays 1 and about sqrt(T)
        delay = int(round(math.sqrt(timesteps)))
        return [SkipRNN(units, delays=(1, delay), name="skip", **last)]
    if kind == "dilated":  # dilations 1, 2, ..., 2^(L-1)
        count = levels(timesteps)
        return [
            SkipRNN(
                units,
                delays=(2**i,),
                name=f"dilated_{i}",
                return_sequences=return_sequences or i < count - 1,
                activation=activation,
            )
            for i in range(count)
        ]
    if kind == "clockwork":  # periods 1, 2, ..., 2^(L-1)
        periods = tuple(2**i for i in range(levels(timesteps)))
        units = len(periods) * max(1, units // len(periods))
        return [ClockworkRNN(units, periods=periods, name="clockwork", **last)]
    if kind == "lstm":
        return [keras.layers.LSTM(units, name="lstm", **gated)]
    if kind == "gru":
        return [keras.layers.GRU(units, name="gru", **gated)]
    raise ValueError(f"Unknown model {kind!r}; choose from {MODELS}")


def build_model(
    kind, units, task, timesteps, learning_rate, clipnorm, activation="tanh"
):
    """A flat functional model: inputs -> recurrent layer(s) -> head."""
    if task == "adding":
        inputs = keras.Input((timesteps, 2), name="sequence")
        x = inputs
    else:
        length = timesteps + 2 * COPY_LENGTH
        inputs = keras.Input((length,), dtype="int32", name="tokens")
        x = keras.layers.Reshape((length, 1), name="per_step")(inputs)
        x = keras.layers.CategoryEncoding(
            N_SYMBOLS + 2, output_mode="one_hot", name="one_hot"
        )(x)
    layers = recurrent_layers(
        kind, units, timesteps, task == "copy", activation
    )
    for layer in layers:
        x = layer(x)
    if task == "adding":
        out = keras.layers.Dense(1, name="head")(x)
        loss = "mse"
    else:
        out = keras.layers.Dense(
            N_SYMBOLS + 1, activation="softmax", name="head"
        )(x)
        loss = "sparse_categorical_crossentropy"
    model = keras.Model(inputs, out, name=kind)
    model.compile(keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss)
    return model


def units_for(kind, task, timesteps, target):
    """The units whose model has the parameter count nearest `target`
    (a bisection: the count grows with the units)."""
    step = levels(timesteps) if kind == "clockwork" else 1

    def count(units):
        model = build_model(kind, units, task, timesteps, 1e-3, 1.0)
        params = model.count_params()
        keras.backend.clear_session()
        return params

    low, high = 1, 512 // step
    while high - low > 1:
        middle = (low + high) // 2
        if count(middle * step) <= target:
            low = middle
        else:
            high = middle
    candidates = [
        (abs(count(k * step) - target), k * step) for k in (low, high)
    ]
    units = min(candidates)[1]
    return units, count(units)


def make_data(task, timesteps, n, seed):
    if task == "adding":
        return adding_problem(n, timesteps, seed=seed)
    return copy_memory(
        n, timesteps, n_symbols=N_SYMBOLS, copy_length=COPY_LENGTH, seed=seed
    )


class StepTimer(keras.callbacks.Callback):
    """CPU time of every training step (this process's, so other jobs on a
    shared machine do not count; with `--threads 1` it is also the time
    the step takes alone)."""

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.process_time() - self._start)

    def on_train_begin(self, logs=None):
        self.times = []


def run_one(kind, task_name, args):
    task, timesteps = TASKS[task_name]
    keras.utils.set_random_seed(args.seed)
    units, params = units_for(kind, task, timesteps, args.params)
    model = build_model(
        kind,
        units,
        task,
        timesteps,
        args.learning_rate,
        args.clipnorm,
        args.activation,
    )
    x, y = make_data(task, timesteps, args.steps * args.batch_size, args.seed)
    x_test, y_test = make_data(task, timesteps, args.test_size, args.seed + 1)
    timer = StepTimer()
    start = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[timer],
    )
    seconds = time.perf_counter() - start
    warm = timer.times[min(5, len(timer.times) - 1) :]
    result = {
        "task": task_name,
        "model": kind,
        "timesteps": timesteps,
        "units": units,
        "params": params,
        "steps": args.steps,
        "train_seconds": round(seconds, 2),
        "seconds_per_step": float(np.median(warm)),
    }
    if task == "adding":
        result["test_mse"] = float(model.evaluate(x_test, y_test, verbose=0))
        result["baseline_mse"] = float(np.var(y_test))
    else:
        pred = model.predict(x_test, verbose=0).argmax(-1)
        recall = pred[:, -COPY_LENGTH:] == y_test[:, -COPY_LENGTH:]
        result["recall_accuracy"] = float(recall.mean())
        result["chance_accuracy"] = 1.0 / N_SYMBOLS
    keras.backend.clear_session()
    return result


def speed_table(args):
    """CPU seconds per training step at equal size (units), interleaved
    and repeated, the fastest repeat of each, as ratios to SimpleRNN."""
    timesteps, units = args.speed_timesteps, args.speed_units
    kinds = [
        "simple_rnn",
        "leaky_fixed",
        "leaky_spectrum",
        "leaky_learned",
        "skip",
        "clockwork",
        "lstm",
        "gru",
    ]
    x, y = adding_problem(args.batch_size, timesteps, seed=0)
    models = {}
    for kind in kinds:
        models[kind] = build_model(
            kind, units, "adding", timesteps, 1e-3, 1.0, args.activation
        )
        for _ in range(3):
            models[kind].train_on_batch(x, y)
    best = {kind: float("inf") for kind in kinds}
    for _ in range(args.speed_repeats):
        for kind, model in models.items():
            start = time.process_time()
            for _ in range(3):
                model.train_on_batch(x, y)
            best[kind] = min(best[kind], (time.process_time() - start) / 3)
    keras.backend.clear_session()
    return {
        k: {"seconds_per_step": v, "ratio": v / best["simple_rnn"]}
        for k, v in best.items()
    }


def flow_frames(args):
    """Gradient flow at initialisation on the adding problem."""
    timesteps = args.flow_timesteps
    x, y = adding_problem(64, timesteps, seed=args.seed + 2)
    frames = []
    for kind in args.models:
        keras.utils.set_random_seed(args.seed)
        units, _ = units_for(kind, "adding", timesteps, args.params)
        model = build_model(
            kind, units, "adding", timesteps, 1e-3, 1.0, args.activation
        )
        first = next(
            layer
            for layer in model.layers
            if isinstance(layer, keras.layers.RNN)
        )
        frames.append(gradient_flow(model, x, y, layer=first, name=kind))
        keras.backend.clear_session()
    return pd.concat(frames, ignore_index=True)


def plot_flow(path):
    """The gradient flow at initialisation saved in `path`, as a figure."""
    import _plots

    _plots.pyplot()
    saved = _plots.load(path)
    if "gradient_flow" not in saved:
        print(f"{path} holds no gradient flow (run without --skip-flow)")
        return
    frame = pd.DataFrame(saved["gradient_flow"])
    settings = saved["signature"].split(",")
    params = dict(item.split("=") for item in settings)["params"]
    ax = plot_gradient_flow(frame)
    ax.set_title(
        f"Gradient flow at initialisation, adding problem "
        f"T={int(frame['step'].max()) + 1}, ~{params} parameters"
    )
    _plots.save(ax.figure, "timescales_gradient_flow.png")


def signature(args):
    sig = (
        f"steps={args.steps},batch={args.batch_size},"
        f"params={args.params},lr={args.learning_rate},"
        f"clipnorm={args.clipnorm},seed={args.seed},"
        f"test={args.test_size}"
    )
    if args.activation != "tanh":  # results saved before the option
        sig += f",activation={args.activation}"
    return sig


def load(path, sig, fresh):
    if fresh or not os.path.exists(path):
        return {"signature": sig, "runs": {}}
    with open(path) as f:
        saved = json.load(f)
    if saved.get("signature") != sig:
        print(f"{path} holds results of other settings; starting over.")
        return {"signature": sig, "runs": {}}
    return saved


def save(path, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def markdown(frame):
    """A pandas DataFrame as a Markdown table (no extra dependency)."""
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for index, row in frame.iterrows():
        cells = [str(index)] + [str(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(runs, models, tasks):
    rows = []
    for kind in models:
        row = {"model": kind}
        ratios = []
        for task_name in tasks:
            run = runs.get(f"{task_name}/{kind}")
            base = runs.get(f"{task_name}/simple_rnn")
            if run is None:
                row[task_name] = "-"
                continue
            if "test_mse" in run:
                row[task_name] = f"{run['test_mse']:.3f}"
            else:
                row[task_name] = f"{run['recall_accuracy']:.2f}"
            if base:
                ratios.append(
                    run["seconds_per_step"] / base["seconds_per_step"]
                )
            row.setdefault("params", run["params"])
        row["s/step vs SimpleRNN"] = f"{np.mean(ratios):.2f}" if ratios else "-"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("model")
    columns = ["params"] + list(tasks) + ["s/step vs SimpleRNN"]
    return frame[[c for c in columns if c in frame]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks", nargs="+", default=list(TASKS), choices=list(TASKS)
    )
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument(
        "--steps",
        type=int,
        default=2000,
        help="training steps per run (the fixed budget)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--params",
        type=int,
        default=4500,
        help="target parameter count of every model",
    )
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument(
        "--activation",
        default="tanh",
        choices=["tanh", "relu"],
        help="activation of every cell but LSTM's and GRU's",
    )
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow threads (per-step times are CPU times)",
    )
    parser.add_argument("--flow-timesteps", type=int, default=200)
    parser.add_argument("--speed-timesteps", type=int, default=200)
    parser.add_argument("--speed-units", type=int, default=64)
    parser.add_argument("--speed-repeats", type=int, default=5)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-flow", action="store_true")
    parser.add_argument(
        "--report",
        action="store_true",
        help="print the tables of the saved results, train nothing",
    )
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the gradient-flow figure from --out, train nothing",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="ignore finished runs saved by an earlier call",
    )
    parser.add_argument(
        "--out", default=os.path.join(RESULTS, "timescales.json")
    )
    args = parser.parse_args(argv)
    if args.plot_only:
        plot_flow(args.out)
        return
    pin_threads(args.threads)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    sig = signature(args)
    results = load(args.out, sig, args.fresh)
    if args.report:
        args.skip_speed = args.skip_flow = True
        args.tasks = [
            t
            for t in args.tasks
            if any(k.startswith(t + "/") for k in results["runs"])
        ]
    if not args.skip_speed:
        print("speed at equal size ...", flush=True)
        results["speed"] = {
            "timesteps": args.speed_timesteps,
            "units": args.speed_units,
            "batch_size": args.batch_size,
            "models": speed_table(args),
        }
        save(args.out, results)
    if not args.skip_flow:
        frame = flow_frames(args)
        results["gradient_flow"] = frame.to_dict(orient="list")
        save(args.out, results)
        plot_flow(args.out)
    order = ["simple_rnn"] + [m for m in args.models if m != "simple_rnn"]
    for task_name in args.tasks:
        for kind in order:
            key = f"{task_name}/{kind}"
            if key in results["runs"] or args.report:
                continue
            print(f"training {key} ...", flush=True)
            results["runs"][key] = run_one(kind, task_name, args)
            save(args.out, results)
            run = results["runs"][key]
            metric = run.get("test_mse", run.get("recall_accuracy"))
            print(
                f"  {key}: {metric:.4f} in {run['train_seconds']}s", flush=True
            )
    print(
        f"\nBudget: {args.steps} steps of {args.batch_size} sequences; "
        f"~{args.params} parameters; Adam lr={args.learning_rate}, "
        f"activation {args.activation} (not LSTM/GRU), "
        f"clipnorm={args.clipnorm}. Adding: test MSE (predicting 1 "
        f"gives ~0.167). Copy: recall accuracy on the {COPY_LENGTH} "
        f"recalled symbols (chance {1 / N_SYMBOLS:.3f}).\n"
    )
    print(markdown(table(results["runs"], args.models, args.tasks)))
    if "speed" in results:
        speed = results["speed"]
        print(
            f"\nSeconds per training step at equal size "
            f"({speed['units']} units, T={speed['timesteps']}, batch "
            f"{speed['batch_size']}), ratio to SimpleRNN:\n"
        )
        rows = {k: f"{v['ratio']:.2f}" for k, v in speed["models"].items()}
        frame = pd.Series(rows, name="ratio").to_frame()
        frame.index.name = "model"
        print(markdown(frame))


if __name__ == "__main__":
    main()
