"""Checks every layer's tests need (the house style's "Tests" list)."""

import keras
import numpy as np


def assert_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return clone


def assert_saves_and_loads(model, inputs, tmp_path, atol=1e-6):
    """Saving to `.keras` and loading back (safe mode on, no custom objects)
    gives identical outputs."""
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    got = loaded.predict(inputs, verbose=0)
    for e, g in zip(_flat(expected), _flat(got)):
        np.testing.assert_allclose(g, e, atol=atol, rtol=0)
    return loaded


def assert_fit_step_changes_weights(model, x, y):
    """One `fit` step runs, gives a finite loss and moves every trainable
    weight."""
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss), loss
    after = [w.numpy() for w in model.trainable_weights]
    unchanged = [
        w.path
        for w, b, a in zip(model.trainable_weights, before, after)
        if np.array_equal(b, a)
    ]
    assert not unchanged, f"weights not updated by fit: {unchanged}"
    return loss


def randomize_weights(layer, scale=0.5, seed=0):
    """Give every weight of `layer` random values, so that a comparison
    cannot pass on zeros, ones or initializer symmetries."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(
            (scale * rng.standard_normal(weight.shape)).astype(weight.dtype)
        )


def count_params(layer):
    return int(sum(np.prod(w.shape) for w in layer.weights))


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [np.asarray(x) for x in value]
    if isinstance(value, dict):
        return [np.asarray(value[k]) for k in sorted(value)]
    return [np.asarray(value)]
