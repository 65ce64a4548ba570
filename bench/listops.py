"""ListOps: the Tree-LSTM recipe against an LSTM over the flat tokens.

Generates seeded ListOps data (Nangia & Bowman 2018), trains
`recipes.build_tree_classifier` (N-ary Tree-LSTM over left-factored binary
trees, dynamic batching) and an LSTM of about the same parameter count
reading the same expressions as flat token sequences, and prints their
test accuracies. Each model's finished epochs survive an interruption
(`keras.callbacks.BackupAndRestore` under `--work-dir`): run the same
command again to resume.

Validation and test accuracies are both at the root (the expression's
value), also for the model trained with a label on every node.

By default the learning rate follows `toolkit.training.OneCycle` over the
whole run (Smith 2018: warm up to `--learning-rate`, then anneal far
below it), the run's length fixed in advance; `--schedule constant` keeps
one rate and stops early on validation accuracy.

Full protocol (the issue's), as run for the benchmark page (96.95% test):

    python bench/listops.py --train 20000 --epochs 40 --learning-rate 5e-3 \
        --schedule one_cycle --models tree_lstm_nodes --threads 1

A smaller run: `--train 5000 --epochs 10`. Results go to
`bench/results/listops.json`, with each model's per-epoch history, and the
figure to docs/benchmarks/img/listops.png (`--plot-only FILE ...` redraws
it from saved result files).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _threads import pin_threads  # noqa: E402

from recipes import build_tree_classifier  # noqa: E402
from toolkit.data import (  # noqa: E402
    Vocabulary,
    binarize,
    encode_trees,
    listops,
    tree_dataset,
)
from toolkit.data.listops import TOKENS, encode_sequences  # noqa: E402
from toolkit.training import OneCycle  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--val", type=int, default=2000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--max-depth", type=int, default=6)
    parser.add_argument("--max-args", type=int, default=5)
    parser.add_argument("--operator-probability", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument(
        "--lstm-units",
        type=int,
        default=None,
        help="default: matched to the Tree-LSTM's size",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=3e-3,
        help="the constant rate, or the peak of the one-cycle schedule",
    )
    parser.add_argument(
        "--schedule",
        choices=("constant", "one_cycle"),
        default="one_cycle",
        help="one_cycle: toolkit.training.OneCycle over all --epochs "
        "(warm-up then cosine annealing; no early stopping)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=5,
        help="early stopping on validation root accuracy (constant "
        "schedule only)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow intra- and inter-op threads (0: TensorFlow's default)",
    )
    parser.add_argument(
        "--models",
        default="tree_lstm,lstm",
        help="comma-separated: tree_lstm (root labels), tree_lstm_nodes "
        "(every node labelled; test accuracy still at the root), lstm",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="bench/results/listops_work")
    parser.add_argument("--out", default="bench/results/listops.json")
    parser.add_argument(
        "--plot-only",
        nargs="+",
        metavar="FILE",
        help="redraw the figure from these result files, train nothing",
    )
    return parser.parse_args(argv)


def make_data(args):
    total = args.train + args.val + args.test
    expressions, trees, labels = listops(
        total,
        max_depth=args.max_depth,
        max_args=args.max_args,
        operator_probability=args.operator_probability,
        seed=args.seed,
    )
    trees = [binarize(t, "left") for t in trees]
    splits = np.cumsum([args.train, args.val])
    vocab = Vocabulary(TOKENS)
    encoded = encode_trees(trees, vocab)
    sequences = encode_sequences(expressions)

    def part(array, index):
        return np.split(array, splits)[index]

    return {
        name: {
            "trees": {k: part(a, i) for k, a in encoded.items()},
            "sequences": part(sequences, i),
            "labels": part(labels, i),
        }
        for i, name in enumerate(("train", "val", "test"))
    }, vocab


def make_optimizer(args, steps_per_epoch):
    """Adam at a constant rate, or under a one-cycle schedule whose cycle
    spans every step of the run."""
    rate = args.learning_rate
    if args.schedule == "one_cycle":
        rate = OneCycle(rate, total_steps=args.epochs * steps_per_epoch)
    return keras.optimizers.Adam(rate)


def lstm_model(units, embedding_dim, optimizer):
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(
        len(TOKENS) + 1, embedding_dim, mask_zero=True, name="embedding"
    )(tokens)
    x = keras.layers.LSTM(units, name="lstm")(x)
    x = keras.layers.Dense(64, activation="relu", name="hidden")(x)
    x = keras.layers.Dense(10, activation="softmax", name="head")(x)
    model = keras.Model(tokens, x, name="flat_lstm")
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def matched_lstm_units(target, embedding_dim):
    best = None
    for units in range(16, 512, 4):
        count = lstm_model(units, embedding_dim, "adam").count_params()
        if best is None or abs(count - target) < abs(best[1] - target):
            best = (units, count)
    return best[0]


def root_accuracy(model, data):
    """Accuracy of a node-level model's prediction at each tree's root
    (the last real node: nodes are in post-order)."""
    hits = total = 0
    for inputs, labels, _ in data:
        probabilities = np.asarray(model.predict_on_batch(inputs))
        roots = np.sum(np.asarray(inputs["heights"]) >= 0, axis=1) - 1
        rows = np.arange(len(roots))
        predicted = probabilities[rows, roots].argmax(-1)
        hits += int(np.sum(predicted == np.asarray(labels)[rows, roots]))
        total += len(roots)
    return hits / total


class RootAccuracy(keras.callbacks.Callback):
    """Adds `val_root_accuracy`, the validation accuracy at the roots, to
    the epoch's logs (a node-level model's own `val_accuracy` averages
    over every node, most of them easy digits)."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_root_accuracy"] = root_accuracy(self.model, self.data)
            print(
                f"epoch {epoch + 1}: val_root_accuracy "
                f"{logs['val_root_accuracy']:.4f}",
                flush=True,
            )


def train(
    name, model, train_data, val_data, test_data, args, test_accuracy=None
):
    """Fit and evaluate; a finished model's result is kept in `work_dir`
    and reused by a rerun of the same command."""
    done = os.path.join(args.work_dir, f"{name}_result.json")
    if os.path.exists(done):
        with open(done) as handle:
            return json.load(handle)
    monitor = "val_accuracy"
    callbacks = []
    if test_accuracy is not None:
        monitor = "val_root_accuracy"
        callbacks.append(RootAccuracy(val_data))
    callbacks.append(
        keras.callbacks.BackupAndRestore(os.path.join(args.work_dir, name))
    )
    if args.schedule == "constant":
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor, patience=args.patience, restore_best_weights=True
            )
        )
    start = time.time()
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=2,
    )
    seconds = time.time() - start
    if test_accuracy is None:
        _, accuracy = model.evaluate(test_data, verbose=0)
    else:
        accuracy = test_accuracy(model, test_data)
    result = {
        "model": name,
        "parameters": int(model.count_params()),
        "epochs_run": len(history.history["loss"]),
        "best_val_accuracy": float(max(history.history[monitor])),
        "final_val_accuracy": float(history.history[monitor][-1]),
        "test_accuracy": float(accuracy),
        "train_seconds": round(seconds, 1),
        "history": {
            key: [float(value) for value in values]
            for key, values in history.history.items()
        },
    }
    os.makedirs(args.work_dir, exist_ok=True)
    with open(done, "w") as handle:
        json.dump(result, handle)
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.plot_only:
        return plot(args.plot_only)
    if args.threads:
        pin_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    data, vocab = make_data(args)
    steps_per_epoch = -(-args.train // args.batch_size)
    rows = []
    embedding_dim = 32
    tree = build_tree_classifier(
        len(vocab),
        10,
        composer="tree_lstm",
        units=args.units,
        embedding_dim=embedding_dim,
        head_units=64,
        optimizer=make_optimizer(args, steps_per_epoch),
    )
    models = args.models.split(",")
    if "tree_lstm" in models:
        sets = [
            tree_dataset(
                data[s]["trees"],
                data[s]["labels"],
                args.batch_size,
                shuffle=s == "train",
                seed=args.seed,
            )
            for s in ("train", "val", "test")
        ]
        rows.append(train("tree_lstm", tree, *sets, args))
    if "tree_lstm_nodes" in models:
        # every operator node and digit supervised with its value
        nodes = build_tree_classifier(
            len(vocab),
            10,
            composer="tree_lstm",
            units=args.units,
            embedding_dim=embedding_dim,
            head_units=64,
            labels="nodes",
            optimizer=make_optimizer(args, steps_per_epoch),
        )
        sets = [
            tree_dataset(
                data[s]["trees"],
                data[s]["trees"]["labels"],
                args.batch_size,
                shuffle=s == "train",
                seed=args.seed,
                sample_weight=data[s]["trees"]["node_weights"],
            )
            for s in ("train", "val", "test")
        ]
        rows.append(
            train(
                "tree_lstm_nodes",
                nodes,
                *sets,
                args,
                test_accuracy=root_accuracy,
            )
        )
    if "lstm" in models:
        units = args.lstm_units or matched_lstm_units(
            tree.count_params(), embedding_dim
        )
        model = lstm_model(
            units, embedding_dim, make_optimizer(args, steps_per_epoch)
        )
        sets = [
            (data[s]["sequences"], data[s]["labels"])
            for s in ("train", "val", "test")
        ]
        result = train(
            f"lstm{units}",
            model,
            _numpy_dataset(*sets[0], args.batch_size, True, args.seed),
            _numpy_dataset(*sets[1], args.batch_size),
            _numpy_dataset(*sets[2], args.batch_size),
            args,
        )
        rows.append(result)
    table = format_table(rows, args)
    print(table)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"args": vars(args), "results": rows}, handle, indent=2)
    plot([args.out])
    return rows


def describe(args, row):
    """A run's label: model, schedule, epochs."""
    names = {
        "tree_lstm": "Tree-LSTM, root labels",
        "tree_lstm_nodes": "Tree-LSTM, every node labelled",
    }
    name = names.get(row["model"], row["model"])
    if row["model"].startswith("lstm"):
        name = f"flat LSTM, {row['model'][4:]} units"
    schedule = args.get("schedule", "constant").replace("_", "-")
    return f"{name}\n({schedule}, {row['epochs_run']} epochs)"


def plot(paths):
    """Validation root accuracy per epoch of the runs in `paths` that
    saved their history, or, where none did, the test accuracies as bars."""
    import _plots

    runs = []
    for path in paths:
        saved = _plots.load(path)
        runs += [(saved["args"], row) for row in saved["results"]]
    curves = [(a, r) for a, r in runs if "history" in r]
    figure, ax = _plots.pyplot().subplots(figsize=(7, 4))
    if curves:
        for args, row in curves:
            history = row["history"]
            key = "val_root_accuracy" if "val_root_accuracy" in history else (
                "val_accuracy"
            )  # fmt: skip
            epochs = range(1, len(history[key]) + 1)
            ax.plot(epochs, history[key], label=describe(args, row))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy at the root")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        title = "ListOps learning curves"
    else:
        print("no run saved its per-epoch history: test accuracies only")
        labels = [describe(args, row) for args, row in runs]
        accuracies = [row["test_accuracy"] for _, row in runs]
        bars = ax.barh(labels, accuracies, color="C0")
        ax.bar_label(bars, labels=[f"{a:.1%}" for a in accuracies])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("test accuracy at the root")
        ax.tick_params(axis="y", labelsize=8)
        title = "ListOps test accuracy (per-epoch curves not saved)"
    args = runs[0][0]
    ax.set_title(
        f"{title}: {args['train']} training expressions, depth <= "
        f"{args['max_depth']}",
        fontsize=9,
    )
    _plots.save(figure, "listops.png")


def _numpy_dataset(x, y, batch_size, shuffle=False, seed=None):
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(y), seed=seed)
    return data.batch(batch_size)


def format_table(rows, args):
    lines = [
        f"ListOps: {args.train} train / {args.test} test trees, depth <= "
        f"{args.max_depth}, <= {args.max_args} args, seed {args.seed}; "
        f"Adam, {args.schedule} learning rate {args.learning_rate:g}",
        "| model | parameters | epochs | val acc (root): best / final "
        "| test acc (root) | train s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        final = row.get("final_val_accuracy")
        lines.append(
            f"| {row['model']} | {row['parameters']:,} | "
            f"{row['epochs_run']} | {row['best_val_accuracy']:.4f} / "
            + (f"{final:.4f}" if final is not None else "-")
            + f" | {row['test_accuracy']:.4f} | {row['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
