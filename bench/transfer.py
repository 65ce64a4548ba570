"""Transfer learning: a ResNet-50 pretrained here, fine-tuned on few labels.

No ImageNet weights can be downloaded on the benchmark machine, so the
script makes its own pretrained backbone and hands it to the models
through the route users take, `build_image_classifier(weights=path)`.

Data: the shipped UCI digits (1,797 8x8 images of counts 0..16), scaled
to 0-255, upsampled bilinearly to 32x32 and repeated over 3 channels.

- `pretrain`: source task digits 0-4 (901 images, 80% to train, 20% to
  test): `keras.applications.ResNet50(weights=None, include_top=False,
  pooling="avg")` plus a 5-way softmax, Adam 1e-3, batch 32, inputs in
  ResNet-50's caffe preprocessing; the backbone's weights are saved as a
  no-top weights file (`bench/results/resnet50_digits04_notop.weights.h5`,
  not committed: rerun to make it).
- `transfer`: target task digits 5-9 (896 images, disjoint from the
  source classes). Per seed, `--labels` images per class are drawn to
  train, 20 per class of the rest to validate (the learning curves) and
  all the others to test. Three models, each built by
  `build_image_classifier(5, (32, 32, 3))`: from scratch (`weights=None`,
  a plain Keras `fit` of `--phase1-epochs + --phase2-epochs` epochs, Adam
  1e-3), frozen features (`weights=path`, `fine_tune` phase 1 only) and
  the two-phase fine-tune (`weights=path`, phase 1 then phase 2 from
  `--unfreeze`). Test accuracy over `--seeds` seeds.
- `speed`: 50 labels per class, seed 0. After a one-epoch warm-up run
  of each kind, phase 1 of `--speed-epochs`
  epochs with cached features against the same phase 1 through the
  frozen backbone (`cache_features=False`), from the same initial head:
  the wall-time ratio and the largest head-weight difference. Then the
  images per second of phase 2 (median epoch time, first epoch left out)
  against a plain Keras `fit` of the same model as phase 2 leaves it
  (same trainable layers, same compiled optimizer).
- `memory`: peak resident memory (`resource.getrusage`) and peak Python
  allocations (`tracemalloc`) of phase 1 with cached features, each in a
  fresh process, the uncached phase 1 beside it.

Run: python bench/transfer.py --part pretrain  # 15 epochs, makes the file
     python bench/transfer.py --part scratch transfer speed memory
                                              # documented: 3 seeds, 20 + 10
     python bench/transfer.py --part transfer --seeds 1 --labels 10 50 \
         --phase1-epochs 20 --phase2-epochs 5 # the run on the page
     python bench/transfer.py --part transfer --seeds 1 --labels 10 \
         --phase1-epochs 2 --phase2-epochs 1  # a quick check
     python bench/transfer.py --plot-only     # redraw from the JSON
Results in bench/results/transfer.json (--output, each part under its
own key), figures in docs/benchmarks/img/transfer_*.png. Two threads
(--threads).
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _threads import pin_threads  # noqa: E402
from _timing import EpochTimer  # noqa: E402

SIZE = 32
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
WEIGHTS = ROOT / "bench" / "results" / "resnet50_digits04_notop.weights.h5"


def digits_rgb(classes):
    """The shipped digits of `classes` as 32x32 RGB images in 0-255
    (bilinear upsampling of the 8x8 counts) and labels 0..len-1."""
    import numpy as np
    from keras import ops

    from toolkit.data import load_digits

    x, y = load_digits(shape="image", scale=False)
    keep = np.isin(y, classes)
    x, y = x[keep] * (255.0 / 16.0), y[keep]
    x = ops.convert_to_numpy(
        ops.image.resize(x, (SIZE, SIZE), interpolation="bilinear")
    )
    x = np.clip(np.repeat(x, 3, axis=-1), 0.0, 255.0).astype("float32")
    labels = np.searchsorted(np.asarray(classes), y).astype("int32")
    return x, labels


def caffe(x):
    """ResNet-50's own preprocessing (RGB to BGR, ImageNet mean off)."""
    import keras

    return keras.applications.resnet.preprocess_input(x.copy())


def source_model(seed):
    """ResNet-50 without its top (average pooling) and a 5-way softmax."""
    import keras

    keras.utils.set_random_seed(seed)
    backbone = keras.applications.ResNet50(
        include_top=False,
        weights=None,
        input_shape=(SIZE, SIZE, 3),
        pooling="avg",
    )
    inputs = keras.Input((SIZE, SIZE, 3))
    outputs = keras.layers.Dense(len(SOURCE_CLASSES), activation="softmax")(
        backbone(inputs)
    )
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, backbone


def pretrain(args):
    """Train ResNet-50 on digits 0-4 and save the notop backbone weights."""
    import numpy as np

    x, y = digits_rgb(SOURCE_CLASSES)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    test_count = int(round(0.2 * len(x)))
    test, train = order[:test_count], order[test_count:]
    model, backbone = source_model(args.seed)
    print(
        f"source: digits {SOURCE_CLASSES}, {len(train)} training and "
        f"{len(test)} test images, {SIZE}x{SIZE} RGB",
        flush=True,
    )
    start = time.perf_counter()
    history = model.fit(
        caffe(x[train]),
        y[train],
        epochs=args.pretrain_epochs,
        batch_size=args.pretrain_batch_size,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(caffe(x[test]), y[test], verbose=0)
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    backbone.save_weights(args.weights)
    result = {
        "train_images": int(len(train)),
        "test_images": int(len(test)),
        "epochs": args.pretrain_epochs,
        "batch_size": args.pretrain_batch_size,
        "seconds": seconds,
        "images_per_second": len(train) * args.pretrain_epochs / seconds,
        "train_accuracy": [float(a) for a in history.history["accuracy"]],
        "source_test_accuracy": float(accuracy),
        "weights": str(pathlib.Path(args.weights).name),
    }
    print(
        f"pretrained {args.pretrain_epochs} epochs in {seconds:.0f} s "
        f"({result['images_per_second']:.1f} images/s); source test "
        f"accuracy {accuracy:.4f}; weights -> {args.weights}",
        flush=True,
    )
    return result


def target_split(labels_per_class, seed, validation_per_class=20):
    """Indices of the target images to train on, to validate on and to
    test on, drawn per class with `seed`."""
    import numpy as np

    _, y = digits_rgb(TARGET_CLASSES)
    rng = np.random.default_rng(seed)
    train, validation, test = [], [], []
    for label in range(len(TARGET_CLASSES)):
        members = rng.permutation(np.flatnonzero(y == label))
        train.append(members[:labels_per_class])
        cut = labels_per_class + validation_per_class
        validation.append(members[labels_per_class:cut])
        test.append(members[cut:])
    return tuple(np.concatenate(part) for part in (train, validation, test))


def classifier(weights, seed, args):
    import keras

    from recipes import build_image_classifier

    keras.utils.set_random_seed(seed)
    return build_image_classifier(
        len(TARGET_CLASSES),
        input_shape=(SIZE, SIZE, 3),
        weights=weights,
        optimizer=keras.optimizers.Adam(args.phase1_lr),
    )


def run_fine_tune(model, train, validation, args, phase2=True, **options):
    """`toolkit.training.fine_tune` with the benchmark's settings (or, with
    `--impl manual`, the same two phases written out in plain Keras)."""
    if args.impl == "manual":
        return manual_fine_tune(
            model, train, validation, args, phase2=phase2, **options
        )
    from toolkit.training import fine_tune

    return fine_tune(
        model,
        train,
        validation,
        epochs=(args.phase1_epochs, args.phase2_epochs if phase2 else 0),
        learning_rate=(args.phase1_lr, args.phase2_lr),
        unfreeze=args.unfreeze,
        batch_size=args.batch_size,
        verbose=0,
        **options,
    )


def manual_fine_tune(
    model,
    train,
    validation,
    args,
    phase2=True,
    cache_features=True,
    shuffle=True,
    callbacks=None,
):
    """The two phases by hand, on a `build_image_classifier` model: phase 1
    trains the layer "predictions" on the frozen backbone's features (once
    computed, or through the backbone every step); phase 2 unfreezes the
    backbone from the first layer named `args.unfreeze`, BatchNorm kept
    frozen (the backbone is called with training=False), Adam at the lower
    rate."""
    import keras
    import pandas as pd

    backbone = model.get_layer("backbone")
    backbone.trainable = False
    head = model.get_layer("predictions")
    fit = dict(
        batch_size=args.batch_size,
        shuffle=shuffle,
        callbacks=callbacks,
        verbose=0,
    )
    if cache_features:
        extractor = keras.Model(model.input, backbone.output)
        features = extractor.predict(train[0], batch_size=128, verbose=0)
        val = None
        if validation is not None:
            val = (
                extractor.predict(validation[0], batch_size=128, verbose=0),
                validation[1],
            )
        inputs = keras.Input(features.shape[1:])
        trainer = keras.Model(inputs, head(inputs))
        trainer.compile(
            optimizer=keras.optimizers.Adam(args.phase1_lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        first = trainer.fit(
            features,
            train[1],
            validation_data=val,
            epochs=args.phase1_epochs,
            **fit,
        )
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(args.phase1_lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        first = model.fit(
            *train,
            validation_data=validation,
            epochs=args.phase1_epochs,
            **fit,
        )
    frames = [pd.DataFrame(first.history).assign(phase=1)]
    if phase2 and args.phase2_epochs:
        backbone.trainable = True
        names = [layer.name for layer in backbone.layers]
        start = next(
            i for i, n in enumerate(names) if n.startswith(args.unfreeze)
        )
        for index, layer in enumerate(backbone.layers):
            layer.trainable = index >= start and not isinstance(
                layer, keras.layers.BatchNormalization
            )
        model.compile(
            optimizer=keras.optimizers.Adam(args.phase2_lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        second = model.fit(
            *train,
            validation_data=validation,
            epochs=args.phase2_epochs,
            **fit,
        )
        frames.append(pd.DataFrame(second.history).assign(phase=2))
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame


def accuracy(model, x, y):
    import numpy as np

    predictions = model.predict(x, batch_size=128, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == y))


def curve(frame):
    """A history DataFrame (or dict of lists) as a JSON-able dict."""
    return {
        str(key): [
            value if isinstance(value, str) else float(value)
            for value in list(frame[key])
        ]
        for key in frame
    }


def part_scratch(args):
    """From scratch: the same builder, `weights=None`, a plain fit."""
    x, y = digits_rgb(TARGET_CLASSES)
    runs = []
    for labels in args.labels:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            train, val, test = target_split(labels, seed)
            model = classifier(None, seed, args)
            start = time.perf_counter()
            history = model.fit(
                x[train],
                y[train],
                validation_data=(x[val], y[val]),
                epochs=args.phase1_epochs + args.phase2_epochs,
                batch_size=args.batch_size,
                verbose=0,
            )
            seconds = time.perf_counter() - start
            runs.append(
                {
                    "labels": labels,
                    "seed": seed,
                    "seconds": seconds,
                    "test_accuracy": accuracy(model, x[test], y[test]),
                    "test_images": int(len(test)),
                    "history": curve(history.history),
                }
            )
            print(
                f"scratch  labels {labels:>3} seed {seed}: test accuracy "
                f"{runs[-1]['test_accuracy']:.4f} ({seconds:.0f} s)",
                flush=True,
            )
    return runs


def part_transfer(args):
    """Frozen features (phase 1 only) and the two-phase fine-tune."""
    x, y = digits_rgb(TARGET_CLASSES)
    runs = []
    for labels in args.labels:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            train, val, test = target_split(labels, seed)
            for method, phase2 in (("frozen", False), ("two-phase", True)):
                model = classifier(args.weights, seed, args)
                start = time.perf_counter()
                frame = run_fine_tune(
                    model,
                    (x[train], y[train]),
                    (x[val], y[val]),
                    args,
                    phase2=phase2,
                )
                seconds = time.perf_counter() - start
                runs.append(
                    {
                        "method": method,
                        "labels": labels,
                        "seed": seed,
                        "seconds": seconds,
                        "test_accuracy": accuracy(model, x[test], y[test]),
                        "test_images": int(len(test)),
                        "history": curve(frame),
                    }
                )
                print(
                    f"{method:<9}labels {labels:>3} seed {seed}: test "
                    f"accuracy {runs[-1]['test_accuracy']:.4f} "
                    f"({seconds:.0f} s)",
                    flush=True,
                )
    return runs


def head_weights(model):
    import numpy as np

    return [np.array(w) for w in model.get_layer("predictions").get_weights()]


def part_speed(args):
    """Cached against uncached phase 1; phase 2 against a plain fit."""
    import numpy as np

    x, y = digits_rgb(TARGET_CLASSES)
    train, _, _ = target_split(50, 0)
    xs, ys = x[train], y[train]
    phase1 = {}
    heads = {}
    # A throwaway run first: TensorFlow's one-off start-up costs (kernel
    # selection, the first tracing) would otherwise go to whichever is first.
    warm = argparse.Namespace(**vars(args))
    warm.phase1_epochs = 1
    for cached in (True, False):
        run_fine_tune(
            classifier(args.weights, 0, args),
            (xs, ys),
            None,
            warm,
            phase2=False,
            cache_features=cached,
        )
    for cached in (False, True):
        model = classifier(args.weights, 0, args)
        speed_args = argparse.Namespace(**vars(args))
        speed_args.phase1_epochs = args.speed_epochs
        start = time.perf_counter()
        run_fine_tune(
            model,
            (xs, ys),
            None,
            speed_args,
            phase2=False,
            cache_features=cached,
            shuffle=False,
        )
        phase1[cached] = time.perf_counter() - start
        heads[cached] = head_weights(model)
    difference = max(
        float(np.max(np.abs(a - b))) for a, b in zip(heads[True], heads[False])
    )
    model = classifier(args.weights, 0, args)
    tuned = EpochTimer()
    run_fine_tune(
        model,
        (xs, ys),
        None,
        speed_args_phase2(args),
        callbacks=[tuned],
    )
    phase2_seconds = tuned.seconds[-args.phase2_speed_epochs :]
    plain = EpochTimer()
    model.fit(
        xs,
        ys,
        epochs=args.phase2_speed_epochs,
        batch_size=args.batch_size,
        callbacks=[plain],
        verbose=0,
    )
    toolkit_rate = len(xs) / float(np.median(phase2_seconds[1:]))
    plain_rate = len(xs) / float(np.median(plain.seconds[1:]))
    result = {
        "train_images": int(len(xs)),
        "phase1_epochs": args.speed_epochs,
        "phase1_cached_seconds": phase1[True],
        "phase1_uncached_seconds": phase1[False],
        "phase1_speedup": phase1[False] / phase1[True],
        "head_max_abs_difference": difference,
        "phase2_epochs": args.phase2_speed_epochs,
        "phase2_epoch_seconds": phase2_seconds,
        "plain_fit_epoch_seconds": plain.seconds,
        "phase2_images_per_second": toolkit_rate,
        "plain_fit_images_per_second": plain_rate,
        "phase2_over_plain": toolkit_rate / plain_rate,
    }
    print(
        f"phase 1, {args.speed_epochs} epochs: cached {phase1[True]:.1f} s, "
        f"through the backbone {phase1[False]:.1f} s: "
        f"{result['phase1_speedup']:.1f}x; head weights differ by at most "
        f"{difference:.2e}\nphase 2: {toolkit_rate:.1f} images/s, plain "
        f"fit {plain_rate:.1f} images/s: {result['phase2_over_plain']:.3f}",
        flush=True,
    )
    return result


def speed_args_phase2(args):
    """The speed part's phase 2: a short phase 1, then enough epochs to
    time (the first of each left out)."""
    phase2 = argparse.Namespace(**vars(args))
    phase2.phase1_epochs = 2
    phase2.phase2_epochs = args.phase2_speed_epochs
    return phase2


def memory_child(args):
    """One phase 1 in this fresh process; prints its peak memory."""
    import tracemalloc

    x, y = digits_rgb(TARGET_CLASSES)
    train, _, _ = target_split(50, 0)
    model = classifier(args.weights, 0, args)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run_fine_tune(
        model,
        (x[train], y[train]),
        None,
        args,
        phase2=False,
        cache_features=args.memory_child == "cached",
    )
    _, traced = tracemalloc.get_traced_memory()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_before_kib": before, "rss_peak_kib": after,
                      "tracemalloc_peak_bytes": traced}))  # fmt: skip


def part_memory(args):
    results = {}
    for mode in ("cached", "uncached"):
        command = [
            sys.executable,
            __file__,
            "--memory-child",
            mode,
            "--weights",
            args.weights,
            "--threads",
            str(args.threads),
            "--phase1-epochs",
            str(args.speed_epochs),
            "--impl",
            args.impl,
        ]
        output = subprocess.run(
            command, check=True, capture_output=True, text=True
        ).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
        results[mode]["train_images"] = 250
        results[mode]["phase1_epochs"] = args.speed_epochs
        mib = results[mode]["rss_peak_kib"] / 1024
        base = results[mode]["rss_before_kib"] / 1024
        print(
            f"phase 1 {mode}: peak RSS {mib:.0f} MiB (after building the "
            f"model: {base:.0f} MiB), tracemalloc peak "
            f"{results[mode]['tracemalloc_peak_bytes'] / 2**20:.1f} MiB",
            flush=True,
        )
    return results


def summary(results):
    """Test accuracy mean and std per method and label count."""
    import numpy as np

    runs = [dict(r, method="scratch") for r in results.get("scratch", [])]
    runs += results.get("transfer", [])
    table = {}
    for run in runs:
        key = (run["method"], run["labels"])
        table.setdefault(key, []).append(run["test_accuracy"])
    rows = []
    for (method, labels), values in sorted(table.items()):
        rows.append(
            {
                "method": method,
                "labels": labels,
                "seeds": len(values),
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
            }
        )
    for row in rows:
        print(
            f"{row['method']:<10}{row['labels']:>4} labels/class: test "
            f"accuracy {row['mean']:.4f} +- {row['std']:.4f} "
            f"({row['seeds']} seeds)"
        )
    return rows


def plot(results, stem):
    from _plots import pyplot, save

    plt = pyplot()
    runs = [dict(r, method="scratch") for r in results.get("scratch", [])]
    runs += results.get("transfer", [])
    runs = [r for r in runs if r["seed"] == 0]
    labels = sorted({r["labels"] for r in runs})
    if not labels:
        return
    figure, axes = plt.subplots(
        1, len(labels), figsize=(5 * len(labels), 3.6), squeeze=False
    )
    for ax, count in zip(axes[0], labels):
        for index, method in enumerate(("scratch", "frozen", "two-phase")):
            for run in runs:
                if run["labels"] != count or run["method"] != method:
                    continue
                history = run["history"]
                values = history.get("val_accuracy", [])
                ax.plot(
                    range(1, len(values) + 1),
                    values,
                    color=f"C{index}",
                    # Frozen is phase 1 of two-phase, drawn under it.
                    lw=4 if method == "frozen" else 1.5,
                    alpha=0.5 if method == "frozen" else 1.0,
                    label=method,
                )
                if method == "two-phase" and "phase" in history:
                    first = sum(1 for p in history["phase"] if p in (1, 1.0))
                    ax.axvline(first + 0.5, color="grey", lw=0.8, ls="--")
        ax.set_title(f"digits 5-9, {count} labels per class (seed 0)")
        ax.set_xlabel("epoch (dashed: phase 2 starts)")
        ax.set_ylabel("validation accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    save(figure, f"{stem}_curves.png")


PARTS = ("pretrain", "scratch", "transfer", "speed", "memory")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part", nargs="+", default=["scratch", "transfer"], choices=PARTS
    )
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--pretrain-batch-size", type=int, default=32)
    parser.add_argument("--labels", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--phase1-epochs", type=int, default=20)
    parser.add_argument("--phase2-epochs", type=int, default=10)
    parser.add_argument("--phase1-lr", type=float, default=1e-3)
    parser.add_argument("--phase2-lr", type=float, default=1e-4)
    parser.add_argument("--unfreeze", default="conv5_")
    parser.add_argument(
        "--impl",
        default="toolkit",
        choices=["toolkit", "manual"],
        help="toolkit.training.fine_tune, or the two phases written out "
        "in plain Keras in this script",
    )
    parser.add_argument("--speed-epochs", type=int, default=10)
    parser.add_argument("--phase2-speed-epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", default=str(WEIGHTS))
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument(
        "--output", default=str(ROOT / "bench" / "results" / "transfer.json")
    )
    return parser.parse_args()


def main():
    args = parse_args()
    path = pathlib.Path(args.output)
    stem = path.stem
    if args.plot_only:
        results = json.loads(path.read_text())
        summary(results)
        plot(results, stem)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    pin_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return
    results = json.loads(path.read_text()) if path.exists() else {}
    results["threads"] = args.threads
    results["load_average_at_start"] = os.getloadavg()
    parts = {
        "pretrain": pretrain,
        "scratch": part_scratch,
        "transfer": part_transfer,
        "speed": part_speed,
        "memory": part_memory,
    }
    for name in args.part:
        if name in ("scratch", "transfer"):
            results[f"{name}_settings"] = {
                key: getattr(args, key)
                for key in (
                    "labels", "seeds", "phase1_epochs", "phase2_epochs",
                    "phase1_lr", "phase2_lr", "unfreeze", "batch_size",
                    "impl",
                )
            }  # fmt: skip
        results[name] = parts[name](args)
        # Saved after every part, so a later failure keeps the earlier ones.
        path.write_text(json.dumps(results, indent=1))
    results["load_average_at_end"] = os.getloadavg()
    path.write_text(json.dumps(results, indent=1))
    summary(results)
    plot(results, stem)


if __name__ == "__main__":
    main()
