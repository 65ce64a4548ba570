"""Every object registered with Keras serialization under the `toolkit`
package round-trips `get_config` -> `from_config` and a `.keras` file
(safe mode on, no `custom_objects`) with identical outputs.

The registry drives the test: a registered class without a factory in
`FACTORIES` fails `test_every_registered_object_has_a_factory`, so a new
class cannot slip through. Classes are reached through their public
packages, never their modules, so that a move inside a package leaves this
file alone.
"""

import importlib
import pkgutil

import keras
import numpy as np
import pytest

import toolkit
from toolkit import data, initializers, layers, models, training

for _module in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
    importlib.import_module(_module.name)

#: What the toolkit registers, taken once when the tests are collected
#: (a test may register a probe class of its own later).
REGISTERED = {
    name: obj
    for name, obj in keras.saving.get_custom_objects().items()
    if name.startswith("toolkit>")
    and getattr(obj, "__module__", "").startswith("toolkit.")
}

STEPS, FEATURES = 5, 2


def _sequences(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, STEPS, FEATURES)).astype("float32")


def _sequence_model(layer):
    inputs = keras.Input((STEPS, FEATURES), name="sequence")
    return keras.Model(inputs, layer(inputs)), _sequences()


def _cell_model(cell):
    return _sequence_model(keras.layers.RNN(cell, return_sequences=True))


def _trees():
    _, trees, _ = data.listops(4, max_depth=2, max_args=2, seed=0)
    trees = [data.binarize(tree, "left") for tree in trees]
    vocabulary = data.Vocabulary.from_trees(trees)
    return len(vocabulary), data.encode_trees(trees, vocabulary)


def _tree_model(composer):
    vocabulary_size, batch = _trees()
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    children = keras.Input((None, 2), dtype="int32", name="children")
    heights = keras.Input((None,), dtype="int32", name="heights")
    x = keras.layers.Embedding(vocabulary_size, composer.units)(tokens)
    roots, nodes = composer(x, children, heights)
    model = keras.Model(
        {"tokens": tokens, "children": children, "heights": heights},
        [roots, nodes],
    )
    return model, data.tree_inputs(batch)


def _image_model(layer):
    inputs = keras.Input((4, 5, 3), name="image")
    images = np.random.default_rng(0).uniform(0, 255, (2, 4, 5, 3))
    return keras.Model(inputs, layer(inputs)), images.astype("float32")


#: Layers: `name -> (example, a function putting it into a tiny model)`.
LAYERS = {
    "toolkit>LSTMCell": (
        lambda: layers.LSTMCell(3, peephole=True, activation="softsign"),
        _cell_model,
    ),
    "toolkit>GRUCell": (
        lambda: layers.GRUCell(3, reset_after=False),
        _cell_model,
    ),
    "toolkit>LeakyCell": (
        lambda: layers.LeakyCell(3, mode="fixed", alpha=0.3),
        _cell_model,
    ),
    "toolkit>SkipCell": (
        lambda: layers.SkipCell(3, delays=(1, 2), activation="softsign"),
        _cell_model,
    ),
    "toolkit>ClockworkCell": (
        lambda: layers.ClockworkCell(4, periods=(1, 2), activation="relu"),
        _cell_model,
    ),
    "toolkit>LSTM": (
        lambda: layers.LSTM(3, return_sequences=True, go_backwards=True),
        _sequence_model,
    ),
    "toolkit>GRU": (
        lambda: layers.GRU(3, hoist_projection=True),
        _sequence_model,
    ),
    "toolkit>LeakyRNN": (
        lambda: layers.LeakyRNN(3, activation="softsign"),
        _sequence_model,
    ),
    "toolkit>SkipRNN": (
        lambda: layers.SkipRNN(3, delays=(1, 2), return_state=True),
        _sequence_model,
    ),
    "toolkit>ClockworkRNN": (
        lambda: layers.ClockworkRNN(4, periods=(1, 2)),
        _sequence_model,
    ),
    "toolkit>Reservoir": (
        lambda: layers.Reservoir(6, leak_rate=0.5, connectivity=0.5, seed=0),
        _sequence_model,
    ),
    "toolkit>RecursiveComposer": (
        lambda: layers.RecursiveComposer(4, activation="softsign"),
        _tree_model,
    ),
    "toolkit>RNTNComposer": (
        lambda: layers.RNTNComposer(4, activation="relu"),
        _tree_model,
    ),
    "toolkit>TreeLSTMComposer": (
        lambda: layers.TreeLSTMComposer(4, variant="child_sum"),
        _tree_model,
    ),
    "toolkit>ImagePreprocessing": (
        lambda: layers.ImagePreprocessing("caffe"),
        _image_model,
    ),
}

#: Initializers: `name -> (example, the Dense argument it fills)`; the
#: Dense layer's other initializer is a constant, so that every weight of
#: a rebuilt layer is drawn again from a deserialized initializer.
INITIALIZERS = {
    "toolkit>Chrono": (
        lambda: initializers.Chrono(10, seed=1),
        "bias_initializer",
    ),
    "toolkit>Sparse": (
        lambda: initializers.Sparse(nonzero=2, seed=1),
        "kernel_initializer",
    ),
    "toolkit>SpectralRadius": (
        lambda: initializers.SpectralRadius(0.5, seed=1),
        "kernel_initializer",
    ),
}

#: Learning-rate schedules: `name -> example`.
SCHEDULES = {
    "toolkit>CyclicalLearningRate": lambda: training.CyclicalLearningRate(
        1e-3, 1e-2, 3
    ),
    "toolkit>OneCycle": lambda: training.OneCycle(0.1, 10),
    "toolkit>OneCycleMomentum": lambda: training.OneCycleMomentum(10),
}


def _fitted_esn():
    t = np.arange(60, dtype="float32")
    x, y = np.sin(0.3 * t)[:, None], np.cos(0.3 * t)[:, None]
    model = models.ESN([6, 4], leak_rate=0.5, connectivity=0.5, seed=0)
    model.fit(x, y, washout=5)
    return model, x[None, :20]


def _fitted_flow_model():
    model = training.FlowRegularizedRNN(
        keras.layers.SimpleRNNCell(3), head=keras.layers.Dense(1)
    )
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = _sequences(batch=4)
    model.fit(x, x[:, 0, :1], epochs=1, verbose=0)
    return model, x


def _fitted_uncertainty_model():
    inputs = keras.Input((FEATURES,))
    outputs = {
        "a": keras.layers.Dense(3, activation="softmax")(inputs),
        "b": keras.layers.Dense(1)(inputs),
    }
    model = training.UncertaintyWeightedModel(
        inputs, outputs, initial_log_variance=0.5
    )
    model.compile(
        keras.optimizers.SGD(0.1),
        loss={"a": "sparse_categorical_crossentropy", "b": "mse"},
    )
    x = _sequences(batch=4)[:, 0]
    model.fit(x, {"a": np.arange(4) % 3, "b": x[:, :1]}, verbose=0)
    return model, x


#: Models: `name -> a function returning (a model ready to predict, inputs)`.
MODELS = {
    "toolkit>ESN": _fitted_esn,
    "toolkit>FlowRegularizedRNN": _fitted_flow_model,
    "toolkit>UncertaintyWeightedModel": _fitted_uncertainty_model,
}

#: Optimizers: `name -> example`.
OPTIMIZERS = {
    "toolkit>DiscriminativeOptimizer": lambda: training.DiscriminativeOptimizer(
        keras.optimizers.Adam(0.01), {"first": 0.1}
    ),
}

#: Losses and metrics: `name -> (example, labels, predictions)`, the labels
#: holding a missing one (-1).
LOSSES_AND_METRICS = {
    "toolkit>MaskedLoss": lambda: training.MaskedLoss(
        "sparse_categorical_crossentropy", missing_label=-1
    ),
    "toolkit>MaskedMetric": lambda: training.MaskedMetric(
        "sparse_categorical_accuracy", missing_label=-1
    ),
}

FACTORIES = {
    **LAYERS,
    **INITIALIZERS,
    **SCHEDULES,
    **MODELS,
    **LOSSES_AND_METRICS,
    **OPTIMIZERS,
}


def _save_and_load(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path, safe_mode=True)


def _assert_same_outputs(got, expected):
    got, expected = keras.tree.flatten(got), keras.tree.flatten(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), atol=1e-6)


def _assert_config_round_trip(obj, name):
    """`from_config(get_config())` and a registry-name round trip give the
    registered class with the same config."""
    assert type(obj) is REGISTERED[name]
    config = obj.get_config()
    assert type(obj).from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(obj)
    assert serialized["registered_name"] == name
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(obj)
    assert restored.get_config() == config


def _contains(model, cls):
    """Whether a layer of `model`, or the cell of one, is a `cls`."""
    return any(
        type(layer) is cls or type(getattr(layer, "cell", None)) is cls
        for layer in model.layers
    )


def test_every_registered_object_has_a_factory():
    missing = sorted(set(REGISTERED) - set(FACTORIES))
    assert not missing, f"add an example to a table in this file: {missing}"
    stale = sorted(set(FACTORIES) - set(REGISTERED))
    assert not stale, f"no longer registered, remove from the tables: {stale}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer(name, tmp_path):
    make, wrap = LAYERS[name]
    layer = make()
    model, inputs = wrap(layer)
    _assert_config_round_trip(layer, name)
    expected = model.predict(inputs, verbose=0)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert _contains(clone, REGISTERED[name])
    _assert_same_outputs(clone.predict(inputs, verbose=0), expected)
    loaded = _save_and_load(model, tmp_path)
    assert _contains(loaded, REGISTERED[name])
    _assert_same_outputs(loaded.predict(inputs, verbose=0), expected)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializer(name, tmp_path):
    make, argument = INITIALIZERS[name]
    initializer = make()
    _assert_config_round_trip(initializer, name)
    constant = {"kernel_initializer": "ones", "bias_initializer": "zeros"}
    constant[argument] = initializer
    inputs = keras.Input((4,))
    model = keras.Model(
        inputs, keras.layers.Dense(4, name="dense", **constant)(inputs)
    )
    weight = model.get_layer("dense").kernel
    if argument == "bias_initializer":
        weight = model.get_layer("dense").bias
    values = weight.numpy()
    assert np.ptp(values) > 0  # not a constant: a comparison can fail
    # Rebuilt from its config, the layer draws its weights again.
    rebuilt = keras.Model.from_config(model.get_config())
    for got, expected in zip(rebuilt.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    loaded = _save_and_load(model, tmp_path)
    restored = getattr(loaded.get_layer("dense"), argument)
    assert type(restored) is type(initializer)
    assert restored.get_config() == initializer.get_config()
    drawn = restored(values.shape, dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(drawn), values)


def _values(schedule, steps=(0, 1, 2, 4, 7, 9)):
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule(name, tmp_path):
    schedule = SCHEDULES[name]()
    _assert_config_round_trip(schedule, name)
    clone = type(schedule).from_config(schedule.get_config())
    np.testing.assert_allclose(_values(clone), _values(schedule), rtol=1e-6)
    assert len(set(_values(schedule))) > 1  # it moves: a comparison can fail
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.SGD(schedule), "mse")
    x = _sequences(batch=8)[:, 0]
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    loaded = _save_and_load(model, tmp_path)
    config = loaded.optimizer.get_config()["learning_rate"]
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(schedule)
    np.testing.assert_allclose(_values(restored), _values(schedule), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == 2
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate)),
        _values(schedule, [2])[0],
        rtol=1e-6,
    )
    _assert_same_outputs(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model(name, tmp_path):
    model, inputs = MODELS[name]()
    _assert_config_round_trip(model, name)
    expected = model.predict(inputs, verbose=0)
    flat = [np.ravel(part) for part in keras.tree.flatten(expected)]
    assert np.ptp(np.concatenate(flat)) > 0
    clone = type(model).from_config(model.get_config())
    clone(inputs)
    clone.set_weights(model.get_weights())
    _assert_same_outputs(clone.predict(inputs, verbose=0), expected)
    loaded = _save_and_load(model, tmp_path)
    assert type(loaded) is REGISTERED[name]
    _assert_same_outputs(loaded.predict(inputs, verbose=0), expected)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer(name, tmp_path):
    optimizer = OPTIMIZERS[name]()
    _assert_config_round_trip(optimizer, name)
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(3, name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="last")(hidden))
    model.compile(optimizer, "mse")
    x = _sequences(batch=8)[:, 0]
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    loaded = _save_and_load(model, tmp_path)
    assert type(loaded.optimizer) is type(optimizer)
    for restored, kept in zip(loaded.optimizer.groups, optimizer.groups):
        for a, b in zip(restored.variables, kept.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Trained on from the file, it takes the same steps as the original.
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    loaded.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    _assert_same_outputs(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


@pytest.mark.parametrize("name", sorted(LOSSES_AND_METRICS))
def test_loss_or_metric(name, tmp_path):
    obj = LOSSES_AND_METRICS[name]()
    _assert_config_round_trip(obj, name)
    inputs = keras.Input((FEATURES,))
    model = keras.Model(
        inputs, keras.layers.Dense(3, activation="softmax")(inputs)
    )
    if isinstance(obj, keras.losses.Loss):
        model.compile("sgd", loss=obj)
    else:
        model.compile(
            "sgd",
            loss=training.MaskedLoss("sparse_categorical_crossentropy"),
            metrics=[obj],
        )
    x = _sequences(batch=6)[:, 0]
    y = np.array([0, 1, -1, 2, 1, -1])
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    loaded = _save_and_load(model, tmp_path)
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert np.isfinite(value)
        np.testing.assert_allclose(got[key], value, rtol=1e-6)
