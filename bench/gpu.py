"""One GPU run, Keras 3 on JAX: ResNet-50 fine-tuning and the RNN cells.

Made for one NVIDIA H200 and about six minutes of wall time; it needs no
TensorFlow (`KERAS_BACKEND=jax`, set here unless the environment names
another backend). Two parts, each written to the JSON as soon as it ends:

- `rnn`: one training step (forward and backward, Adam) of
  `Input((timesteps, features)) -> recurrent layer -> Dense(1)` on MSE,
  batch `--rnn-batch`, jitted as a stateless JAX step
  (`model.stateless_call`, `jax.value_and_grad`,
  `optimizer.stateless_apply`), so Keras's per-call Python work is not in
  the time. Ours: `toolkit.layers.LSTM` / `GRU`, with and without
  `hoist_projection`, and `keras.layers.RNN(toolkit.layers.LSTMCell)` /
  `GRUCell`. Keras's: `keras.layers.LSTM` / `GRU` with `use_cudnn=True`
  (for the LSTM, `jax.experimental.rnn`'s cuDNN kernel; Keras's JAX GRU
  has no cuDNN kernel and runs a `lax.scan` with the input projection
  hoisted) and `use_cudnn=False` (the generic `lax.scan` loop). Three
  warm-up steps (compilation), then `--repeats` rounds of `--rnn-steps`
  steps, the rounds of all layers interleaved; the median time per step.
- `resnet`: `recipes.build_image_classifier` (ResNet-50, 10 classes) on
  the shipped digits upsampled to `--size` pixels, its backbone weights
  made here with `weights=None`, saved, and loaded through the real
  `weights=path` route. Phase 1 (`toolkit.training.fine_tune`, backbone
  frozen, `--phase1-epochs` epochs, no shuffling, seed 0) with cached
  features against the same through the frozen backbone, each after an
  identical one-epoch warm-up run (so XLA's compilation is cached), the
  wall time of the whole call and the largest head-weight difference.
  Then images/s of phase 2 (from `conv5_`, median epoch, the first left
  out) against a plain `model.fit` of the same model and settings after
  it, and the GPU's peak memory (`jax.devices()[0].memory_stats()`).

Run (GPU):  python bench/gpu.py --out bench/results/gpu.json
     (CPU):  python bench/gpu.py --smoke      # tiny sizes, about a minute
     python bench/gpu.py --parts rnn         # one part
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
import traceback
from functools import partial

os.environ.setdefault("KERAS_BACKEND", "jax")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import EpochTimer  # noqa: E402

#: Sizes of the full run and of `--smoke`.
SIZES = {
    "full": {
        "rnn_batch": 256,
        "rnn_timesteps": 100,
        "rnn_features": 32,
        "rnn_units": 256,
        "rnn_steps": 100,
        "repeats": 3,
        "size": 224,
        "images": 2048,
        "batch": 64,
        "phase1_epochs": 10,
        "phase2_epochs": 5,
    },
    "smoke": {
        "rnn_batch": 8,
        "rnn_timesteps": 6,
        "rnn_features": 3,
        "rnn_units": 8,
        "rnn_steps": 3,
        "repeats": 2,
        "size": 32,
        "images": 64,
        "batch": 16,
        "phase1_epochs": 2,
        "phase2_epochs": 3,
    },
}

RNN_VARIANTS = (
    ("lstm", "toolkit"),
    ("lstm", "toolkit_hoisted"),
    ("lstm", "rnn_of_toolkit_cell"),
    ("lstm", "keras_cudnn"),
    ("lstm", "keras_no_cudnn"),
    ("gru", "toolkit"),
    ("gru", "toolkit_hoisted"),
    ("gru", "rnn_of_toolkit_cell"),
    ("gru", "keras_cudnn"),
    ("gru", "keras_no_cudnn"),
)


def use_compilation_cache(directory):
    """XLA's persistent cache: a model rebuilt with the same shapes (each
    timed run below builds a fresh one) loads its compiled step."""
    import jax

    for key, value in (
        ("jax_compilation_cache_dir", str(directory)),
        ("jax_persistent_cache_min_compile_time_secs", 0.0),
        ("jax_persistent_cache_min_entry_size_bytes", -1),
    ):
        try:
            jax.config.update(key, value)
        except (AttributeError, ValueError):  # an older JAX lacks one
            pass


def peak_memory():
    """`(bytes in use, peak bytes)` on the first device, or Nones."""
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("bytes_in_use"), stats.get("peak_bytes_in_use")


def machine():
    import jax
    import keras

    device = jax.devices()[0]
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "jax": jax.__version__,
        "device": getattr(device, "device_kind", str(device)),
        "platform": device.platform,
        "python": platform.python_version(),
    }


# --- recurrent cells ------------------------------------------------------


def rnn_layer(kind, variant, units):
    import keras

    from toolkit import layers as ours

    cells = {"lstm": ours.LSTMCell, "gru": ours.GRUCell}
    sequence = {"lstm": ours.LSTM, "gru": ours.GRU}
    theirs = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    if variant == "toolkit":
        return sequence[kind](units)
    if variant == "toolkit_hoisted":
        return sequence[kind](units, hoist_projection=True)
    if variant == "rnn_of_toolkit_cell":
        return keras.layers.RNN(cells[kind](units))
    return theirs[kind](units, use_cudnn=variant == "keras_cudnn")


def rnn_step(kind, variant, sizes):
    """`(run(n) -> seconds for n steps, final loss)` of one jitted,
    compiled training step."""
    import jax
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    batch, steps = sizes["rnn_batch"], sizes["rnn_timesteps"]
    features, units = sizes["rnn_features"], sizes["rnn_units"]
    model = keras.Sequential(
        [
            keras.Input((steps, features)),
            rnn_layer(kind, variant, units),
            keras.layers.Dense(1),
        ]
    )
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    x = jax.numpy.asarray(
        rng.standard_normal((batch, steps, features)).astype("float32")
    )
    y = jax.numpy.asarray(rng.standard_normal((batch, 1)).astype("float32"))

    def loss_of(trainable, non_trainable):
        prediction, non_trainable = model.stateless_call(
            trainable, non_trainable, x, training=True
        )
        return jax.numpy.mean((prediction - y) ** 2), non_trainable

    @partial(jax.jit, donate_argnums=0)
    def step(state):
        trainable, non_trainable, slots = state
        (loss, non_trainable), grads = jax.value_and_grad(
            loss_of, has_aux=True
        )(trainable, non_trainable)
        trainable, slots = optimizer.stateless_apply(slots, grads, trainable)
        return (trainable, non_trainable, slots), loss

    state = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    ]
    box = {"state": state, "loss": None}

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            box["state"], box["loss"] = step(box["state"])
        jax.block_until_ready(box["state"])
        return time.perf_counter() - start

    run(3)  # trace, compile, warm up
    return run, box


def part_rnn(sizes, say):
    import numpy as np

    runs, boxes, skipped = {}, {}, {}
    for kind, variant in RNN_VARIANTS:
        try:
            runs[kind, variant], boxes[kind, variant] = rnn_step(
                kind, variant, sizes
            )
        except Exception as error:  # e.g. no cuDNN path (a CPU run)
            lines = [x.strip() for x in str(error).splitlines() if x.strip()]
            why = [x for x in lines if "cudnn" in x.lower()] or lines
            skipped[f"{kind}/{variant}"] = why[0] if why else repr(error)
            say(f"  {kind}/{variant}: skipped ({skipped[f'{kind}/{variant}']})")
    seconds = {key: [] for key in runs}
    for _ in range(sizes["repeats"]):
        for key, run in runs.items():
            seconds[key].append(run(sizes["rnn_steps"]) / sizes["rnn_steps"])
    rows = []
    for kind in ("lstm", "gru"):
        median = {
            variant: statistics.median(seconds[kind, variant])
            for k, variant in runs
            if k == kind
        }
        for variant, value in median.items():
            row = {
                "layer": kind,
                "variant": variant,
                "ms_per_step": value * 1e3,
                "ms_per_step_rounds": [s * 1e3 for s in seconds[kind, variant]],
                "final_loss": float(np.asarray(boxes[kind, variant]["loss"])),
            }
            for peer in ("keras_cudnn", "keras_no_cudnn"):
                if peer in median:
                    row[f"over_{peer}"] = value / median[peer]
            rows.append(row)
    return {"rows": rows, "skipped": skipped}


def rnn_table(result):
    lines = [
        "| layer | variant | ms/step | ours / Keras cuDNN path | "
        "ours / Keras no cuDNN |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        ratios = [
            f"{row[key]:.2f}" if key in row else "-"
            for key in ("over_keras_cudnn", "over_keras_no_cudnn")
        ]
        lines.append(
            f"| {row['layer']} | {row['variant']} | "
            f"{row['ms_per_step']:.3f} | {ratios[0]} | {ratios[1]} |"
        )
    return "\n".join(lines)


# --- ResNet-50 fine-tuning ------------------------------------------------


def digit_images(size, count):
    """`count` shipped digits (repeated in order past 1,797) as
    `size x size` RGB images in 0-255, bilinear upsampling, and labels."""
    import numpy as np
    from keras import ops

    from toolkit.data import load_digits

    x, y = load_digits(shape="image", scale=False)
    index = np.arange(count) % len(x)
    x, y = x[index] * (255.0 / 16.0), y[index].astype("int32")
    chunks = [
        ops.convert_to_numpy(
            ops.image.resize(x[i : i + 256], (size, size), "bilinear")
        )
        for i in range(0, count, 256)
    ]
    x = np.clip(np.repeat(np.concatenate(chunks), 3, axis=-1), 0.0, 255.0)
    return x.astype("float32"), y


def make_backbone_weights(size, path):
    """A ResNet-50 without top, random weights, saved where `weights=path`
    reads it (what a user's own pretrained file would be)."""
    import keras

    keras.utils.set_random_seed(1)
    backbone = keras.applications.ResNet50(
        include_top=False,
        weights=None,
        input_shape=(size, size, 3),
        pooling="avg",
    )
    backbone.save_weights(path)
    return backbone


def classifier(size, weights):
    import keras

    from recipes import build_image_classifier

    keras.utils.set_random_seed(0)
    return build_image_classifier(
        10,
        input_shape=(size, size, 3),
        weights=weights,
        optimizer=keras.optimizers.Adam(1e-3),
    )


def head_weights(model):
    import numpy as np

    layer = model.get_layer("predictions")
    return [np.asarray(w) for w in layer.get_weights()]


def part_resnet(sizes, weights, say, result, save):
    """Fill `result` (calling `save` after each stage, so a run cut short
    keeps what it measured)."""
    import numpy as np

    from toolkit.training import fine_tune

    size, batch = sizes["size"], sizes["batch"]
    x, y = digit_images(size, sizes["images"])
    result.update({
        "size": size,
        "batch": batch,
        "images": int(len(x)),
        "phase1_epochs": sizes["phase1_epochs"],
        "phase2_epochs": sizes["phase2_epochs"],
    })  # fmt: skip
    common = {"batch_size": batch, "verbose": 0, "seed": 0}

    def phase_1(cached, epochs):
        model = classifier(size, weights)
        timer = EpochTimer()
        start = time.perf_counter()
        fine_tune(
            model, (x, y), epochs=(epochs, 0), cache_features=cached,
            shuffle=False, callbacks=[timer], **common,
        )  # fmt: skip
        heads = head_weights(model)  # on the host: the device is done
        return time.perf_counter() - start, timer.seconds, heads

    memory = {"start": peak_memory()}
    say("  phase 1 warm-up, cached")
    phase_1(True, 1)
    memory["after_cached_phase_1"] = peak_memory()
    say("  phase 1 warm-up, through the frozen backbone")
    phase_1(False, 1)
    memory["after_uncached_phase_1"] = peak_memory()
    timed = {}
    for cached in (False, True):
        say(f"  phase 1, {sizes['phase1_epochs']} epochs, cached={cached}")
        timed[cached] = phase_1(cached, sizes["phase1_epochs"])
    difference = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(timed[True][2], timed[False][2])
    )
    scale = max(float(np.max(np.abs(a))) for a in timed[False][2])
    result.update(
        phase1_cached_seconds=timed[True][0],
        phase1_uncached_seconds=timed[False][0],
        phase1_speedup=timed[False][0] / timed[True][0],
        phase1_cached_epoch_seconds=timed[True][1],
        phase1_uncached_epoch_seconds=timed[False][1],
        # From epoch times: the uncached median epoch against the cached
        # call's feature pass (its trace too) plus its median head epoch.
        phase1_speedup_steady=(
            statistics.median(timed[False][1][1:] or timed[False][1])
            * sizes["phase1_epochs"]
        )
        / (
            (timed[True][0] - sum(timed[True][1]))
            + statistics.median(timed[True][1][1:] or timed[True][1])
            * sizes["phase1_epochs"]
        ),
        head_max_abs_difference=difference,
        head_max_abs_weight=scale,
        memory_bytes=memory,
    )
    save()
    say("  phase 2 through fine_tune, then a plain fit of the same model")
    model = classifier(size, weights)
    tuned = EpochTimer()
    fine_tune(
        model, (x, y), epochs=(1, sizes["phase2_epochs"]),
        callbacks=[tuned], **common,
    )  # fmt: skip
    memory["after_phase_2"] = peak_memory()
    plain = EpochTimer()
    model.fit(
        x,
        y,
        epochs=sizes["phase2_epochs"],
        batch_size=batch,
        callbacks=[plain],
        verbose=0,
    )
    phase2 = tuned.seconds[-sizes["phase2_epochs"] :]
    rate = len(x) / statistics.median(phase2[1:])
    plain_rate = len(x) / statistics.median(plain.seconds[1:])
    result.update(
        phase2_epoch_seconds=phase2,
        plain_fit_epoch_seconds=plain.seconds,
        phase2_images_per_second=rate,
        plain_fit_images_per_second=plain_rate,
        phase2_over_plain=rate / plain_rate,
    )
    return result


def resnet_table(r):
    def gib(pair):
        return "-" if pair[1] is None else f"{pair[1] / 2**30:.2f} GiB"

    memory = r["memory_bytes"]
    rows = [
        ("images, size, batch", f"{r['images']}, {r['size']}x{r['size']}, "
         f"{r['batch']}"),
        (f"phase 1 ({r['phase1_epochs']} epochs), cached features",
         f"{r['phase1_cached_seconds']:.2f} s"),
        ("phase 1, through the frozen backbone",
         f"{r['phase1_uncached_seconds']:.2f} s"),
        ("phase 1 speed-up (target >= 5)", f"{r['phase1_speedup']:.1f}x"),
        ("phase 1 speed-up, from epoch times",
         f"{r['phase1_speedup_steady']:.1f}x"),
        ("head weights, largest difference",
         f"{r['head_max_abs_difference']:.2e} (largest weight "
         f"{r['head_max_abs_weight']:.2f})"),
        ("phase 2 (fine_tune), images/s",
         f"{r['phase2_images_per_second']:.0f}"),
        ("plain fit, same model, images/s",
         f"{r['plain_fit_images_per_second']:.0f}"),
        ("phase 2 / plain fit (target >= 0.95)",
         f"{r['phase2_over_plain']:.3f}"),
        ("peak GPU memory after cached phase 1",
         gib(memory["after_cached_phase_1"])),
        ("peak GPU memory after uncached phase 1",
         gib(memory["after_uncached_phase_1"])),
        ("peak GPU memory after phase 2", gib(memory["after_phase_2"])),
    ]  # fmt: skip
    lines = ["| ResNet-50 | value |", "| --- | ---: |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


# --- driver ---------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("rnn", "resnet"),
        default=["rnn", "resnet"],
    )
    parser.add_argument(
        "--out", default=str(ROOT / "bench" / "results" / "gpu.json")
    )
    for name, value in SIZES["full"].items():
        parser.add_argument(
            "--" + name.replace("_", "-"), type=int, default=None,
            help=f"default {value} ({SIZES['smoke'][name]} with --smoke)",
        )  # fmt: skip
    args = parser.parse_args(argv)
    sizes = dict(SIZES["smoke" if args.smoke else "full"])
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    return args, sizes


def main(argv=None):
    args, sizes = parse_args(argv)
    began = time.perf_counter()

    def say(message):
        print(f"[{time.perf_counter() - began:6.1f} s] {message}", flush=True)

    work = pathlib.Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    use_compilation_cache(work / "xla_cache")
    results = {"machine": machine(), "sizes": sizes, "smoke": args.smoke}
    say(f"machine: {results['machine']}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save():
        results["wall_seconds"] = time.perf_counter() - began
        out.write_text(json.dumps(results, indent=2) + "\n")

    failed = False
    if "rnn" in args.parts:
        say("rnn: training steps")
        try:
            results["rnn"] = part_rnn(sizes, say)
            print(rnn_table(results["rnn"]), flush=True)
        except Exception:  # the other part still runs
            failed = True
            results["rnn_error"] = traceback.format_exc()
            print(results["rnn_error"], flush=True)
        save()
    if "resnet" in args.parts:
        say("resnet: making the backbone weights file")
        results["resnet"] = {}
        try:
            weights = work / "resnet50_notop.weights.h5"
            make_backbone_weights(sizes["size"], weights)
            part_resnet(sizes, str(weights), say, results["resnet"], save)
            print(resnet_table(results["resnet"]), flush=True)
        except Exception:
            failed = True
            results["resnet_error"] = traceback.format_exc()
            print(results["resnet_error"], flush=True)
        save()
    say(f"done; results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
