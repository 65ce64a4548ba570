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

With `--early-stopping PATIENCE` every training instead runs under
Keras's `EarlyStopping(monitor="val_loss", patience=PATIENCE,
restore_best_weights=True)` for at most `--max-epochs` epochs, and the
restored model's validation loss is compared: each rate is trained until
it stops improving rather than for a fixed number of epochs. The
batch-rescaled `minimum_tenth` row is left out, to keep these runs
shorter. The table also gives each training's best epoch, the epochs it
ran, and its validation loss after `--epochs` epochs (the fixed-epoch
protocol, read from the same runs). Either way the per-epoch validation
losses are saved, and a last table shows each suggestion's curve up to
`--epochs`: still falling there (underfitting) or already rising
(overfitting)?

Every finished training is saved to a `.partial.json` next to the
output; run the same command again after an interruption and it resumes.

Prints the tables, saves `bench/results/lr_finder_digits.json` and the range
test plots `docs/benchmarks/img/lr_range_test_digits_{mlp,cnn}.png`, and
the validation loss at every rate tried, named after the JSON file
(`docs/benchmarks/img/lr_finder_digits.png`); `--plot-only FILE ...` only
redraws these from saved result files.

Run (about 10 minutes on 2 busy CPU cores for one training per rate; the
early-stopping command took 26 minutes for Adam, 7-17 per model for SGD,
at 1 thread):

    python bench/lr_finder_digits.py --threads 1
    python bench/lr_finder_digits.py --momentum 0 --threads 1
    python bench/lr_finder_digits.py --optimizer adam --threads 1
    python bench/lr_finder_digits.py --train-seeds 3 --threads 1
    python bench/lr_finder_digits.py --train-seeds 3 --threads 1 \
        --early-stopping 10 --max-epochs 200
    python bench/lr_finder_digits.py --epochs 5 --quick   # smoke run
    python bench/lr_finder_digits.py \
        --plot-only bench/results/lr_finder_digits.json   # redraw only
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
# Trainings done so far, by "model learning-rate seed", and the file they
# are saved to after each one with the arguments that produced them (so an
# interrupted run of the same command resumes).
FINISHED = {}
PARTIAL = []


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


def train(
    name, initial, learning_rate, data, epochs, batch_size, seed, patience=0
):
    """One training from `initial`; its validation loss and accuracy.

    With `patience` 0, `epochs` epochs at a constant learning rate and the
    final epoch's values. Otherwise Keras's `EarlyStopping` on `val_loss`
    with that patience and `restore_best_weights=True`, at most `epochs`
    epochs, and the restored model's values, with the epoch it restored
    (`best_epoch`, from 1) and the number of epochs run (`stopped_epoch`).
    Either way `val_loss_curve` is the validation loss after every epoch.
    """
    (x, y), validation = data
    model = build(name, seed)
    model.set_weights(initial)
    model.optimizer.learning_rate = learning_rate
    keras.utils.set_random_seed(seed)
    callbacks = []
    if patience:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        )
        callbacks.append(stopper)
    history = model.fit(
        x,
        y,
        validation_data=validation,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=0,
    )
    curve = [float(value) for value in history.history["val_loss"]]
    if patience:
        scores = model.evaluate(
            *validation, batch_size=batch_size, verbose=0, return_dict=True
        )
        loss, accuracy = scores["loss"], scores["accuracy"]
    else:
        loss = curve[-1]
        accuracy = history.history["val_accuracy"][-1]
    result = {
        "val_loss": float(loss) if np.isfinite(loss) else float("inf"),
        "val_accuracy": float(accuracy),
        "val_loss_curve": curve,
    }
    if patience:
        result["best_epoch"] = stopper.best_epoch + 1
        result["stopped_epoch"] = len(curve)
    return result


def train_mean(
    name, initial, learning_rate, data, epochs, batch_size, seed, patience=0
):
    """`train` for each training seed; the mean val loss and accuracy,
    each run's loss, curve and (early stopping) epochs.

    A training already in `FINISHED` (from an interrupted run of the same
    command) is taken from there instead of being run again.
    """
    runs = []
    for s in range(seed, seed + TRAIN_SEEDS[0]):
        key = f"{name} {learning_rate!r} {s}"
        if key not in FINISHED:
            FINISHED[key] = train(
                name,
                initial,
                learning_rate,
                data,
                epochs,
                batch_size,
                s,
                patience,
            )
            if PARTIAL:
                save_partial()
        runs.append(FINISHED[key])
    result = {
        key: float(np.mean([run[key] for run in runs]))
        for key in ("val_loss", "val_accuracy")
    }
    result["val_losses"] = [run["val_loss"] for run in runs]
    result["val_loss_curves"] = [run["val_loss_curve"] for run in runs]
    if patience:
        result["best_epochs"] = [run["best_epoch"] for run in runs]
        result["stopped_epochs"] = [run["stopped_epoch"] for run in runs]
    return result


def run(
    name,
    epochs,
    batch_size,
    seed,
    grid,
    smoothing,
    range_batch_size,
    patience=0,
):
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
    plot_range_test(result, name)

    def row(source, lr):
        return {
            "model": name,
            "source": source,
            "learning_rate": lr,
            **train_mean(
                name, initial, lr, data, epochs, batch_size, seed, patience
            ),
        }

    rows = [
        row(f"suggestion: {rule}", lr)
        for rule, lr in result.suggestions.items()
    ]
    scale = batch_size / range_batch_size
    # The linear batch rescaling only under the fixed-epoch protocol
    # (where it was studied), to keep the early-stopping runs shorter.
    if scale != 1 and not patience:
        lr = result.suggestions["minimum_tenth"] * scale
        rows.append(row(f"minimum_tenth x {scale:g} (linear)", lr))
    rows += [row("grid", lr) for lr in grid]
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
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), default=list(MODELS)
    )
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
        "--early-stopping",
        type=int,
        default=0,
        metavar="PATIENCE",
        help="train each rate with keras.callbacks.EarlyStopping(val_loss, "
        "patience=PATIENCE, restore_best_weights=True) for at most "
        "--max-epochs and compare the restored models (0: off, train "
        "--epochs and compare the final epoch)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=200,
        help="epoch budget with --early-stopping",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 3-point grid, for a smoke run"
    )
    parser.add_argument(
        "--plot-only",
        nargs="+",
        metavar="FILE",
        help="redraw the range test plots from these result files, train "
        "nothing",
    )
    args = parser.parse_args(argv)
    if args.plot_only:
        return plot(args.plot_only)
    for option in ("epochs", "max_epochs", "train_seeds", "batch_size"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.early_stopping < 0:
        parser.error("--early-stopping must be 0 (off) or a patience >= 1")
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
    patience = args.early_stopping
    epochs = args.max_epochs if patience else args.epochs
    seeds = "" if args.train_seeds == 1 else f"_{args.train_seeds}seeds"
    protocol = f"_es{patience}_max{args.max_epochs}" if patience else ""
    # A run of some of the models gets its own file.
    models = "" if args.models == list(MODELS) else "_" + "_".join(args.models)
    output = RESULTS / (
        f"lr_finder_digits{output_suffix()}{seeds}{protocol}{models}.json"
    )
    resume(output.with_suffix(".partial.json"), args)
    grid = [1e-3, 1e-2, 1e-1] if args.quick else GRID
    rows, summaries = [], []
    for name in args.models:
        model_rows, summary = run(
            name,
            epochs,
            args.batch_size,
            args.seed,
            grid,
            smoothing,
            args.range_batch_size,
            patience,
        )
        rows += model_rows
        summaries.append(summary)

    mean = (
        ""
        if args.train_seeds == 1
        else f", mean over {args.train_seeds} training seeds"
    )
    if patience:
        print(
            f"\nUCI digits, {describe_optimizer()}, range test at batch "
            f"{args.range_batch_size}, training at batch {args.batch_size} "
            f"at a constant learning rate with EarlyStopping(val_loss, "
            f"patience={patience}, restore_best_weights=True), at most "
            f"{args.max_epochs} epochs; validation loss and accuracy of the "
            f"restored model{mean}; best epoch and epochs run per training "
            f"seed; val loss after epoch {args.epochs} of the same runs "
            f"(the fixed-epoch protocol)\n"
        )
        print(
            "| model | learning rate | from | val loss | val acc | best "
            f"epoch | epochs run | val loss at epoch {args.epochs} |"
        )
        print("|---|---:|---|---:|---:|---|---|---:|")
    else:
        print(
            f"\nUCI digits, {describe_optimizer()}, range test at batch "
            f"{args.range_batch_size}, training at batch {args.batch_size}, "
            f"{args.epochs} epochs at a constant learning rate; final "
            f"validation loss and accuracy{mean}\n"
        )
        print("| model | learning rate | from | val loss | val acc |")
        print("|---|---:|---|---:|---:|")
    for row in rows:
        line = (
            f"| {row['model']} | {row['learning_rate']:.3g} | "
            f"{row['source']} | {row['val_loss']:.4f} | "
            f"{row['val_accuracy']:.3f} |"
        )
        if patience:
            at = loss_at(row, args.epochs)
            line += (
                f" {', '.join(map(str, row['best_epochs']))} | "
                f"{', '.join(map(str, row['stopped_epochs']))} | "
                + ("stopped before" if at is None else f"{at:.4f}")
                + " |"
            )
        print(line)
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
    print("|---|---:|---:|---:|" + "---:|" * len(columns))
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
    which = "restored" if patience else "final"
    print(
        f"\n(ratios: a suggestion's {which} val loss / the grid's best; "
        "(no) marks a miss of the 10% target)"
    )
    print_curves(rows, args.epochs)
    output.write_text(
        json.dumps(
            {"arguments": vars(args), "rows": rows, "summaries": summaries},
            indent=1,
        )
    )
    output.with_suffix(".partial.json").unlink(missing_ok=True)
    print(f"\nsaved {output}")
    plot_rates(json.loads(output.read_text()), output.stem)


def plot_range_test(result, name):
    """The range test's curve and suggestions, into the benchmark pages'
    images, named by the model and the optimizer."""
    from _plots import IMG, ROOT, pyplot

    pyplot()
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / f"lr_range_test_digits_{name}{output_suffix()}.png"
    result.plot(
        path=path,
        title=f"LR range test, {name.upper()} on the digits "
        f"({describe_optimizer()})",
    )
    print(f"saved {path.relative_to(ROOT)}")


def plot(paths):
    """Redraw the range test plots from the summaries saved in `paths`,
    with the suggestions the run trained at."""
    from _plots import load

    from toolkit.training import LRRangeTestResult

    for path in paths:
        saved = load(path)
        OPTIMIZER[0] = saved["arguments"].get("optimizer", "sgd")
        MOMENTUM[0] = saved["arguments"]["momentum"]
        for summary in saved["summaries"]:
            curve = summary["range_test_curve"]
            result = LRRangeTestResult(
                curve["lr"],
                curve["loss"],
                curve["smoothed_loss"],
                rule=summary["default_rule"],
            )
            result.suggestions = summary["suggestions"]
            plot_range_test(result, summary["model"])
        plot_rates(saved, pathlib.Path(path).stem)


def plot_rates(saved, name):
    """Validation loss against the learning rate: the grid as a line, each
    suggestion as a marker, the 10% band above the grid's best."""
    from _plots import pyplot, save
    from matplotlib.ticker import FuncFormatter

    arguments = saved["arguments"]
    models = list(dict.fromkeys(row["model"] for row in saved["rows"]))
    figure, axes = pyplot().subplots(
        1, len(models), figsize=(5 * len(models), 4.4), squeeze=False
    )
    markers = ["^", "o", "s", "D"]
    for ax, model in zip(axes[0], models, strict=True):
        rows = [row for row in saved["rows"] if row["model"] == model]
        grid = sorted(
            (row for row in rows if row["source"] == "grid"),
            key=lambda row: row["learning_rate"],
        )
        rates = [row["learning_rate"] for row in grid]
        ax.plot(rates, [row["val_loss"] for row in grid], "k.-", label="grid")
        best = min(row["val_loss"] for row in grid)
        ax.axhspan(best, 1.1 * best, color="C2", alpha=0.2, label="best +10%")
        others = [row for row in rows if row["source"] != "grid"]
        for index, row in enumerate(others):
            ax.plot(
                row["learning_rate"],
                row["val_loss"],
                markers[index % len(markers)],
                color=f"C{index + 1}",
                ms=8,
                label=f"{row['source'].removeprefix('suggestion: ')}: "
                f"{row['learning_rate']:.2g}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.yaxis.set_minor_formatter(FuncFormatter(_tick))
        ax.set_xlabel("learning rate")
        ax.set_title(model.upper())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2
        )
    OPTIMIZER[0] = arguments.get("optimizer", "sgd")
    MOMENTUM[0] = arguments["momentum"]
    if arguments.get("early_stopping"):
        protocol = (
            f"early stopping (patience {arguments['early_stopping']}, at "
            f"most {arguments['max_epochs']} epochs), restored"
        )
    else:
        protocol = f"{arguments['epochs']} epochs, final"
    seeds = arguments.get("train_seeds", 1)
    axes[0][0].set_ylabel(
        "validation loss" + (f" (mean of {seeds})" if seeds > 1 else "")
    )
    figure.suptitle(
        f"UCI digits, {describe_optimizer()}: {protocol} validation loss "
        "at each learning rate",
        fontsize=10,
    )
    save(figure, f"{name}.png")


def _tick(value, position=None):
    """A log axis label at 1, 2 and 5 times a power of ten only."""
    lead = value / 10 ** np.floor(np.log10(value))
    return f"{value:g}" if round(lead) in (1, 2, 5) else ""


def resume(path, args):
    """Take the trainings an interrupted run of the same command finished
    from `path`, and save every new one there."""
    PARTIAL[:] = [path]
    FINISHED.clear()
    arguments = {k: v for k, v in vars(args).items() if k != "models"}
    if path.exists():
        saved = json.loads(path.read_text())
        if saved["arguments"] == arguments:
            FINISHED.update(saved["finished"])
            print(f"resuming: {len(FINISHED)} trainings from {path}")
    PARTIAL.append(arguments)


def save_partial():
    path, arguments = PARTIAL
    path.write_text(json.dumps({"arguments": arguments, "finished": FINISHED}))


def loss_at(row, epoch):
    """Mean val loss over the training seeds after `epoch` (from 1), or
    None if a training stopped before it."""
    curves = row["val_loss_curves"]
    if any(len(curve) < epoch for curve in curves):
        return None
    return float(np.mean([curve[epoch - 1] for curve in curves]))


def print_curves(rows, epochs):
    """Per-epoch validation loss of each suggestion and of the grid's best
    rate: rising before `epochs` (overfitting) or still falling at it
    (underfitting)?"""
    print(
        f"\nval loss curves (mean over training seeds) up to epoch "
        f"{epochs}, and the epoch at which each seed's curve is lowest "
        f"within epochs 1-{epochs}\n"
    )
    marks = sorted({1, epochs // 3, 2 * epochs // 3, epochs - 2, epochs})
    marks = [m for m in marks if m >= 1]
    print(
        "| model | learning rate | from | "
        + " | ".join(f"epoch {m}" for m in marks)
        + f" | lowest in 1-{epochs} at epoch |"
    )
    print("|---|---:|---|" + "---:|" * len(marks) + "---|")
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model]
        grid = [row for row in mine if row["source"] == "grid"]
        best = min(grid, key=lambda row: row["val_loss"])
        shown = [row for row in mine if row["source"] != "grid"] + [best]
        # Under early stopping, also the grid's best after `epochs`.
        finished = [row for row in grid if loss_at(row, epochs) is not None]
        if finished:
            at_epochs = min(finished, key=lambda row: loss_at(row, epochs))
            if at_epochs is not best:
                shown.append(at_epochs)
        for row in shown:
            cells = []
            for m in marks:
                at = loss_at(row, m)
                cells.append("-" if at is None else f"{at:.4f}")
            lowest = [
                str(int(np.argmin(curve[:epochs])) + 1)
                for curve in row["val_loss_curves"]
            ]
            source = row["source"] + (" (best)" if row is best else "")
            if row is not best and row["source"] == "grid":
                source += f" (best at epoch {epochs})"
            print(
                f"| {model} | {row['learning_rate']:.3g} | {source} | "
                + " | ".join(cells)
                + f" | {', '.join(lowest)} |"
            )


if __name__ == "__main__":
    main()
