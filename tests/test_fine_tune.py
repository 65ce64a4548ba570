"""`fine_tune`: what each phase may and may not change, cached features,
the LR range test, callbacks, data kinds, multi-output, distribution,
saving, the per-group optimizer and every error."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.training import (
    DiscriminativeOptimizer,
    fine_tune,
    plot_fine_tuning,
)
from toolkit.training import backbone_parts as parts

SIZE = 8


def tiny_backbone(size=SIZE):
    """A backbone with ResNet-style layer names: conv1, conv4_block1,
    conv5_block1, conv5_block2, avg_pool."""
    inputs = keras.Input((size, size, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv1_conv")(inputs)
    h = keras.layers.BatchNormalization(name="conv1_bn")(h)
    for block in ("conv4_block1", "conv5_block1", "conv5_block2"):
        h = keras.layers.Conv2D(4, 3, padding="same", name=f"{block}_1_conv")(h)
        h = keras.layers.BatchNormalization(name=f"{block}_1_bn")(h)
        h = keras.layers.Activation("relu", name=f"{block}_out")(h)
    h = keras.layers.GlobalAveragePooling2D(name="avg_pool")(h)
    return keras.Model(inputs, h, name="backbone")


def classifier(
    backbone=None, outputs=("predictions",), augmentation=False, eager=False
):
    """The TRANSFER structure: image -> [augmentation] -> backbone
    (training=False) -> one softmax head per output."""
    backbone = backbone or tiny_backbone()
    image = keras.Input(backbone.input_shape[1:], name="image")
    h = image
    if augmentation:
        h = keras.Sequential(
            [keras.layers.RandomFlip("horizontal")], name="augmentation"
        )(h)
    features = backbone(h, training=False)
    heads = {
        name: keras.layers.Dense(3, activation="softmax", name=name)(features)
        for name in outputs
    }
    model = keras.Model(image, heads if len(outputs) > 1 else heads[outputs[0]])
    metrics = ["accuracy"]
    if len(outputs) > 1:
        metrics = {name: ["accuracy"] for name in outputs}
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=metrics,
        run_eagerly=eager,  # no graph to trace: faster on a big backbone
    )
    return model


def images(n=16, size=SIZE, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    return x, rng.integers(0, 3, n)


def _values(layer):
    return [w.numpy().copy() for w in layer.weights]


@pytest.mark.slow
def test_resnet50_phases_touch_only_what_they_may():
    backbone = keras.applications.ResNet50(
        weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )
    backbone.name = "backbone"
    model = classifier(backbone, eager=True)
    x, y = images(8, 32)
    start = {layer.name: _values(layer) for layer in backbone.layers}
    frame = fine_tune(model, (x, y), epochs=(1, 0), batch_size=8, verbose=0)
    for layer in backbone.layers:  # bit for bit, moving statistics included
        for got, before in zip(_values(layer), start[layer.name]):
            np.testing.assert_array_equal(got, before)
    fine_tune(
        model, (x, y), epochs=(0, 1), learning_rate=(1e-3, 1e-2),
        batch_size=8, verbose=0,
    )  # fmt: skip
    first = parts.unfreeze_index(backbone, "conv5_")
    changed = set()
    for index, layer in enumerate(backbone.layers):
        for weight, before in zip(layer.weights, start[layer.name]):
            moved = not np.array_equal(weight.numpy(), before)
            if isinstance(layer, keras.layers.BatchNormalization):
                assert not moved, weight.path  # never a BN weight or stat
            elif moved:
                assert index >= first, weight.path
                changed.add(layer.name)
    assert {"conv5_block1_1_conv", "conv5_block3_3_conv"} <= changed
    assert list(frame["phase"]) == [1]


def test_unfreeze_by_blocks_and_stage_prefixes():
    backbone = tiny_backbone()
    names = [layer.name for layer in backbone.layers]
    assert parts.unfreeze_index(backbone, 2) == names.index(
        "conv5_block1_1_conv"
    )
    assert parts.unfreeze_index(backbone, 1) == names.index(
        "conv5_block2_1_conv"
    )
    assert parts.stage_prefixes(backbone)[:3] == ["input_", "conv1_", "conv4_"]


def _head_after_phase_1(cache, seed=3):
    keras.utils.set_random_seed(seed)
    model = classifier()
    x, y = images()
    fine_tune(
        model, (x, y), epochs=(3, 0), batch_size=4, shuffle=False,
        cache_features=cache, seed=seed, verbose=0,
    )  # fmt: skip
    return [w.numpy() for w in model.get_layer("predictions").weights]


def test_cached_and_uncached_phase_1_give_the_same_head():
    cached, uncached = _head_after_phase_1(True), _head_after_phase_1(False)
    other = _head_after_phase_1(True, seed=4)
    for a, b in zip(cached, uncached):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Another seed gives another head: the comparison can fail.
    assert np.abs(cached[0] - other[0]).max() > 1e-2


def test_augmentation_runs_the_backbone_and_says_so(capsys):
    model = classifier(augmentation=True)
    x, y = images(8)
    fine_tune(model, (x, y), epochs=(1, 0), batch_size=8, verbose=1)
    assert "runs every step" in capsys.readouterr().out


def test_find_uses_the_range_test_suggestion():
    model = classifier(eager=True)
    x, y = images()
    frame = fine_tune(
        model, (x, y), epochs=(1, 1), learning_rate=("find", 1e-4),
        batch_size=4, find_options={"steps": 8, "min_lr": 1e-5}, verbose=0,
    )  # fmt: skip
    result = frame.attrs["lr_range_tests"][1]
    assert 2 <= result.steps <= 8
    assert frame["learning_rate"].iloc[0] == pytest.approx(result.suggestion)
    assert frame["learning_rate"].iloc[1] == pytest.approx(1e-4)


def test_layer_rates_step_each_group_as_numpy_adam_at_its_rate():
    model = classifier()
    base = model.get_layer("backbone")
    parts.unfreeze_from(base, parts.unfreeze_index(base, "conv4_"))
    rates = {"conv4_": 0.1, "conv5_block2": 0.3}
    optimizer = DiscriminativeOptimizer(keras.optimizers.Adam(0.01), rates)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    x, y = images(8)
    variables = model.trainable_variables
    before = [w.numpy().copy() for w in variables]
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x))
        loss = keras.ops.mean(loss)
    grads = [g.numpy() for g in tape.gradient(loss, variables)]
    optimizer.apply(grads, variables)
    expected_rates = {
        "conv4_block1_1_conv": 0.001,
        "conv5_block1_1_conv": 0.01,  # no key: the default multiplier
        "conv5_block2_1_conv": 0.003,
        "predictions": 0.01,
    }
    for variable, old, g in zip(variables, before, grads):
        lr = expected_rates[variable.path.split("/")[-2]]
        # Adam's first step (Kingma & Ba 2015, the form at the end of
        # their section 2, which Keras uses).
        m, v = 0.1 * g, 0.001 * g**2
        alpha = lr * np.sqrt(1 - 0.999) / (1 - 0.9)
        step = alpha * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(variable.numpy(), old - step, atol=1e-7)


def test_callbacks_pass_through_early_stopping_stops_phase_2():
    model = classifier(eager=True)
    x, y = images()
    stop = keras.callbacks.EarlyStopping("loss", min_delta=10.0, patience=0)
    frame = fine_tune(
        model, (x, y), epochs=(2, 4), batch_size=8, callbacks=[stop],
        verbose=0,
    )  # fmt: skip
    # Each phase stops at its second epoch: phase 2 ran 2 of its 4.
    assert list(frame["phase"]) == [1, 1, 2, 2]
    assert list(frame["epoch"]) == [1, 2, 3, 4]


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 3:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_in_phase_2(tmp_path):
    x, y = images()
    options = dict(epochs=(2, 3), batch_size=8, shuffle=False, verbose=0)
    keras.utils.set_random_seed(0)
    reference = classifier(eager=True)
    weights = reference.get_weights()
    expected = fine_tune(reference, (x, y), seed=1, **options)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    model = classifier(eager=True)
    model.set_weights(weights)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(model, (x, y), callbacks=[backup, _Interrupt()], seed=1,
                  **options)  # fmt: skip
    model = classifier(eager=True)
    model.set_weights(weights)
    frame = fine_tune(model, (x, y), callbacks=[backup], seed=1, **options)
    assert list(frame["epoch"]) == [1, 2, 3, 4, 5]
    assert list(frame["phase"]) == [1, 1, 2, 2, 2]
    np.testing.assert_allclose(frame["loss"], expected["loss"], rtol=1e-4)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not (tmp_path / "backup").exists()


def test_datasets_and_multi_output_models(tmp_path):
    x, y = images()
    model = classifier(outputs=("shape", "colour"))
    data = tf.data.Dataset.from_tensor_slices(
        (x, {"shape": y, "colour": 2 - y})
    ).batch(8)
    frame = fine_tune(
        model, data, data, epochs=(1, 1), unfreeze=1, verbose=0,
        layer_rates={"conv5_": 0.5, "head": 1.0},
    )  # fmt: skip
    assert {"shape_loss", "val_colour_accuracy"} <= set(frame.columns)
    assert list(frame["phase"]) == [1, 2]
    path = tmp_path / "multi.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, DiscriminativeOptimizer)
    for name, values in model.predict(x, verbose=0).items():
        np.testing.assert_array_equal(loaded.predict(x, verbose=0)[name],
                                      values)  # fmt: skip


def test_plot_marks_the_phase_boundary(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({
        "phase": [1, 1, 2], "epoch": [1, 2, 3], "phase_epoch": [1, 2, 1],
        "learning_rate": [1e-3, 1e-3, 1e-4], "loss": [1.0, 0.8, 0.6],
        "val_loss": [1.1, 0.9, 0.7],
    })  # fmt: skip
    (ax,) = plot_fine_tuning(frame, path=tmp_path / "curves.png")
    assert (tmp_path / "curves.png").exists()
    assert ax.lines[-1].get_xdata()[0] == 2.5
    with pytest.raises(ValueError, match="`metrics`"):
        plot_fine_tuning(frame, metrics=["accuracy"])


DISTRIBUTED = """
import os, sys
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
sys.path.insert(0, {tests!r})
from test_fine_tune import classifier, images
from toolkit.training import fine_tune
x, y = images(16)
keras.utils.set_random_seed(0)
weights = classifier().get_weights()
losses = []
for strategy in (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]),
                 tf.distribute.get_strategy()):
    with strategy.scope():
        model = classifier()
        model.set_weights(weights)
        frame = fine_tune(model, (x, y), epochs=(1, 1), batch_size=8,
                          layer_rates={{"conv4_": 0.5}}, shuffle=False,
                          verbose=0)
    losses.append(list(frame["loss"]))
print("LOSSES", losses)
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device():
    here = os.path.dirname(os.path.abspath(__file__))
    script = DISTRIBUTED.format(tests=here)
    env = {**os.environ, "PYTHONPATH": os.path.dirname(here)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    line = [x for x in done.stdout.splitlines() if x.startswith("LOSSES")]
    assert line, done.stderr[-3000:]
    mirrored, single = eval(line[0][len("LOSSES") :])
    np.testing.assert_allclose(mirrored, single, rtol=1e-4)


@pytest.fixture(scope="module")
def built():
    keras.utils.set_random_seed(0)
    return classifier(), images(8)


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"backbone": "base"}, ValueError, r"nested models are \['backbone'"),
        ({"unfreeze": "conv9_"}, ValueError, r"stage prefixes .*'conv5_'"),
        ({"unfreeze": 9}, ValueError, r"number of blocks in \[1, 3\]"),
        ({"epochs": (1,)}, ValueError, "`epochs` must be a pair"),
        ({"epochs": (0, 0)}, ValueError, "at least one phase"),
        ({"epochs": (-1, 1)}, ValueError, r"`epochs\[0\]`"),
        ({"learning_rate": (1e-3, "best")}, ValueError, "or 'find'"),
        ({"learning_rate": (0.0, 1e-3)}, ValueError, "learning_rate"),
        ({"layer_rates": {"conv7_": 0.1}}, ValueError, "a key 'conv7_'"),
        ({"layer_rates": {"conv4_": -1}}, ValueError, "layer_rates"),
        ({"layer_rates": {}}, ValueError, "non-empty dict"),
        ({"optimizer": "nope"}, ValueError, "`optimizer`"),
        ({"cache_features": "yes"}, ValueError, "`cache_features`"),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"verbose": 3}, ValueError, "`verbose`"),
        ({"batch_size": 0}, ValueError, "`batch_size`"),
        ({"callbacks": "stop"}, TypeError, "`callbacks`"),
    ],
)
def test_errors(built, options, error, match):
    model, (x, y) = built
    with pytest.raises(error, match=match):
        fine_tune(model, (x, y), **{"verbose": 0, **options})


def test_errors_of_data_model_and_callbacks(built, tmp_path):
    model, (x, y) = built
    with pytest.raises(TypeError, match="`train`"):
        fine_tune(model, x)
    with pytest.raises(TypeError, match="`model`"):
        fine_tune("model", (x, y))
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.raises(ValueError, match="pass no `batch_size`"):
        fine_tune(model, data, batch_size=4)
    backups = [
        keras.callbacks.BackupAndRestore(str(tmp_path / n)) for n in "ab"
    ]
    with pytest.raises(ValueError, match="at most one BackupAndRestore"):
        fine_tune(model, (x, y), callbacks=backups)
    uncompiled = keras.Model(model.inputs, model.outputs)
    with pytest.raises(ValueError, match="must be compiled"):
        fine_tune(uncompiled, (x, y))
    with pytest.raises(ValueError, match="`multipliers`"):
        DiscriminativeOptimizer("adam", {})
    with pytest.raises(ValueError, match="plain Keras optimizer"):
        DiscriminativeOptimizer(
            DiscriminativeOptimizer("adam", {"a": 1.0}), {"a": 1.0}
        )
