"""Masked losses and metrics for missing labels, and the learned task
weights of Kendall, Gal & Cipolla (2018), against NumPy references."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from toolkit.training import MaskedLoss, MaskedMetric, UncertaintyWeightedModel
from toolkit.training.multitask import check_missing_label

NAN = float("nan")


def _probabilities(rows, classes, seed=0):
    logits = np.random.default_rng(seed).normal(size=(rows, classes))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype("float32")


def _np_cross_entropy(labels, probabilities):
    return -np.log(probabilities[np.arange(len(labels)), labels])


def _value(tensor):
    return float(keras.ops.convert_to_numpy(tensor))


# --- MaskedLoss -------------------------------------------------------------


def test_masked_cross_entropy_is_the_mean_over_present_labels():
    p = _probabilities(6, 4)
    y = np.array([3, -1, 0, 2, -1, 1])
    present = y != -1
    expected = _np_cross_entropy(y[present], p[present]).mean()
    loss = MaskedLoss("sparse_categorical_crossentropy")
    np.testing.assert_allclose(_value(loss(y, p)), expected, rtol=1e-5)
    # Labels of shape (batch, 1), as Keras often gets them.
    np.testing.assert_allclose(_value(loss(y[:, None], p)), expected, 1e-5)


def test_masked_mse_drops_rows_with_a_nan_anywhere():
    rng = np.random.default_rng(1)
    y_pred = rng.normal(size=(5, 2)).astype("float32")
    y = rng.normal(size=(5, 2)).astype("float32")
    y[1, 0] = np.nan  # a partly missing row is left out entirely
    y[3] = np.nan
    keep = ~np.isnan(y).any(axis=1)
    expected = ((y[keep] - y_pred[keep]) ** 2).mean(axis=1).mean()
    loss = MaskedLoss("mse", missing_label=NAN)
    np.testing.assert_allclose(_value(loss(y, y_pred)), expected, rtol=1e-5)
    # NaN is missing whatever the sentinel.
    sentinel = MaskedLoss("mse", missing_label=-999)
    np.testing.assert_allclose(_value(sentinel(y, y_pred)), expected, 1e-5)


def test_masked_loss_reductions_and_sample_weights():
    p = _probabilities(5, 3, seed=2)
    y = np.array([0, -1, 2, 1, -1])
    w = np.array([0.5, 3.0, 2.0, 1.0, 4.0], "float32")
    present = y != -1
    per_sample = np.zeros(5)
    per_sample[present] = _np_cross_entropy(y[present], p[present])
    weighted = (per_sample * w)[present]
    cases = {
        "sum_over_batch_size": weighted.sum() / present.sum(),
        "sum": weighted.sum(),
        "mean_with_sample_weight": weighted.sum() / w[present].sum(),
    }
    for reduction, expected in cases.items():
        loss = MaskedLoss(
            keras.losses.SparseCategoricalCrossentropy(), reduction=reduction
        )
        got = _value(loss(y, p, sample_weight=w))
        np.testing.assert_allclose(got, expected, rtol=1e-5, err_msg=reduction)
    none = MaskedLoss("sparse_categorical_crossentropy", reduction=None)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(none(y, p)), per_sample, rtol=1e-5
    )


def test_a_batch_with_no_label_gives_zero_not_nan():
    p = _probabilities(3, 3)
    loss = MaskedLoss("sparse_categorical_crossentropy")
    assert _value(loss(np.array([-1, -1, -1]), p)) == 0.0
    regression = MaskedLoss("mse", missing_label=NAN)
    targets = np.full((3, 1), np.nan, "float32")
    assert _value(regression(targets, p[:, :1])) == 0.0


def _two_head_model():
    inputs = keras.Input((4,))
    features = keras.layers.Dense(5, activation="tanh", name="shared")(inputs)
    outputs = {
        "a": keras.layers.Dense(3, activation="softmax", name="a")(features),
        "b": keras.layers.Dense(2, name="b")(features),
    }
    return inputs, outputs


def _head_gradients(model, losses, x, y):
    with tf.GradientTape() as tape:
        y_pred = model(x)
        total = sum(losses[task](y[task], y_pred[task]) for task in losses)
    kernels = [model.get_layer(t).kernel for t in ("a", "b", "shared")]
    grads = tape.gradient(total, kernels)
    return [keras.ops.convert_to_numpy(g) for g in grads]


def test_missing_labels_leave_the_head_gradient_zero():
    inputs, outputs = _two_head_model()
    model = keras.Model(inputs, outputs)
    losses = {
        "a": MaskedLoss("sparse_categorical_crossentropy"),
        "b": MaskedLoss("mse", missing_label=NAN),
    }
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4)).astype("float32")
    y = {
        "a": np.full(6, -1),  # no label of task a in this batch
        "b": rng.normal(size=(6, 2)).astype("float32"),
    }
    grad_a, grad_b, _ = _head_gradients(model, losses, x, y)
    assert np.all(grad_a == 0.0)  # exactly zero, not merely small
    assert np.abs(grad_b).max() > 0  # the other head still learns
    # A partial batch: the gradient is the one of the present rows alone.
    y["a"] = np.array([0, -1, 2, -1, 1, 1])
    y["b"][[1, 4]] = np.nan
    full = _head_gradients(model, losses, x, y)
    a_rows, b_rows = y["a"] != -1, ~np.isnan(y["b"]).any(axis=1)
    for task, rows, grad in (("a", a_rows, full[0]), ("b", b_rows, full[1])):
        only = {task: losses[task]}
        labels = {task: y[task][rows]}
        alone = _head_gradients(model, only, x[rows], labels)
        index = ("a", "b").index(task)
        np.testing.assert_allclose(grad, alone[index], rtol=1e-5, atol=1e-7)
        assert np.isfinite(grad).all() and np.abs(grad).max() > 0


def test_masked_loss_inside_fit_with_a_plain_function():
    inputs, outputs = _two_head_model()
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.1),
        loss={
            "a": MaskedLoss(keras.losses.sparse_categorical_crossentropy),
            "b": MaskedLoss("mse", missing_label=NAN),
        },
    )
    x = np.random.default_rng(4).normal(size=(8, 4)).astype("float32")
    y = {"a": np.array([0, 1, -1, 2, -1, 0, 1, 2]), "b": np.zeros((8, 2))}
    y["b"][:3] = np.nan
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --- MaskedMetric -----------------------------------------------------------


def test_masked_metrics_count_only_present_labels():
    p = _probabilities(7, 3, seed=5)
    y = np.array([0, -1, 2, 1, -1, 1, 0])
    present = y != -1
    expected = (p.argmax(axis=1) == y)[present].mean()
    metric = MaskedMetric("sparse_categorical_accuracy")
    metric.update_state(y[:4], p[:4])
    metric.update_state(y[4:], p[4:])
    np.testing.assert_allclose(_value(metric.result()), expected, rtol=1e-6)
    metric.reset_state()
    assert _value(metric.result()) == 0.0
    metric.update_state(np.array([-1, -1]), p[:2])
    assert _value(metric.result()) == 0.0
    targets = np.array([[1.0], [np.nan], [3.0]], "float32")
    guesses = np.array([[0.0], [9.0], [1.0]], "float32")
    mse = MaskedMetric(keras.metrics.mean_squared_error, missing_label=NAN)
    mse.update_state(targets, guesses, sample_weight=[1.0, 1.0, 3.0])
    np.testing.assert_allclose(_value(mse.result()), (1 + 3 * 4) / 4, 1e-6)
    assert mse.name == "mean_squared_error"


# --- UncertaintyWeightedModel -----------------------------------------------


def _uncertainty_model(initial_log_variance=0.0, **compile_kwargs):
    inputs, outputs = _two_head_model()
    model = UncertaintyWeightedModel(
        inputs, outputs, initial_log_variance=initial_log_variance
    )
    compile_kwargs.setdefault(
        "loss",
        {
            "a": MaskedLoss("sparse_categorical_crossentropy"),
            "b": MaskedLoss("mse", missing_label=NAN),
        },
    )
    model.compile(keras.optimizers.Adam(0.05), **compile_kwargs)
    return model


def _data(rows=8, seed=6, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    y = {
        "a": rng.integers(0, 3, rows),
        "b": (scale * rng.normal(size=(rows, 2))).astype("float32"),
    }
    y["a"][1] = -1
    y["b"][2] = np.nan
    return x, y


def test_combined_loss_equals_the_formula():
    model = _uncertainty_model(loss_weights={"a": 2.0, "b": 0.5})
    s = {"a": 0.7, "b": -0.4}
    for task, variable in zip(model.tasks, model.log_variances):
        variable.assign(s[task])
    x, y = _data()
    y_pred = {k: keras.ops.convert_to_numpy(v) for k, v in model(x).items()}
    a_rows, b_rows = y["a"] != -1, ~np.isnan(y["b"]).any(axis=1)
    losses = {
        "a": _np_cross_entropy(y["a"][a_rows], y_pred["a"][a_rows]).mean(),
        "b": ((y["b"][b_rows] - y_pred["b"][b_rows]) ** 2).mean(),
    }
    w = {"a": 2.0, "b": 0.5}
    expected = sum(w[t] * math.exp(-s[t]) * losses[t] + s[t] for t in s)
    got = _value(model.compute_loss(x, y, y_pred))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    weights = model.task_weights()
    for task in s:
        np.testing.assert_allclose(weights[task], w[task] * math.exp(-s[task]))
    # A single loss for every task, and a list in task order, are the same.
    y_dense = {
        "a": np.eye(3, dtype="float32")[np.maximum(y["a"], 0)],
        "b": np.nan_to_num(y["b"]),
    }
    for loss in ("mse", ["mse", "mse"]):
        single = _uncertainty_model(loss=loss)
        p = {k: keras.ops.convert_to_numpy(v) for k, v in single(x).items()}
        mse = sum(float(np.mean((y_dense[t] - p[t]) ** 2)) for t in "ab")
        got = _value(single.compute_loss(x, y_dense, p))
        np.testing.assert_allclose(got, mse, rtol=1e-5)


def test_uncertainty_weights_move_toward_the_task_noise():
    # d/ds (exp(-s) L + s) = 1 - exp(-s) L: s rises while exp(-s) L > 1.
    # Task b's targets are large (L_b near 100), task a's L_a is near log 3,
    # so both weights fall from 1, b's much faster.
    model = _uncertainty_model()
    x, y = _data(rows=16, scale=10.0)
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0).history
    for key in ("loss", "a_loss", "b_loss", "a_weight", "b_weight"):
        assert key in history and np.isfinite(history[key]).all()
    weights = model.task_weights()
    assert weights["b"] < 0.8 and weights["b"] < weights["a"] < 1.0
    assert np.all(np.diff(history["b_weight"]) < 0)
    s = [float(keras.ops.convert_to_numpy(v)) for v in model.log_variances]
    np.testing.assert_allclose(
        [weights["a"], weights["b"]], np.exp(-np.array(s)), rtol=1e-6
    )


def test_uncertainty_model_saves_loads_and_trains_on(tmp_path):
    model = _uncertainty_model(
        initial_log_variance=0.3,
        loss_weights=[1.0, 2.0],
        metrics={"a": [MaskedMetric("sparse_categorical_accuracy")]},
    )
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    path = tmp_path / "multitask.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is UncertaintyWeightedModel
    assert loaded.tasks == ("a", "b") and loaded.initial_log_variance == 0.3
    assert loaded.task_loss_weights == {"a": 1.0, "b": 2.0}
    assert isinstance(loaded.task_losses["b"], MaskedLoss)
    assert math.isnan(loaded.task_losses["b"].missing_label)
    expected, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for task in ("a", "b"):
        np.testing.assert_allclose(got[task], expected[task], atol=1e-6)
    assert loaded.task_weights() == model.task_weights()
    assert int(loaded.optimizer.iterations) == 2
    # The same further epoch on both gives the same weights: the optimizer
    # state and the log-variances came back.
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert int(loaded.optimizer.iterations) == 4
    for g, e in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert model.task_weights()["a"] != pytest.approx(math.exp(-0.3))


# --- errors -----------------------------------------------------------------


def test_missing_label_must_be_a_number():
    match = "`missing_label` must be a number"
    for value in ("-1", None, True, [1]):
        with pytest.raises(TypeError, match=match):
            check_missing_label(value)
        with pytest.raises(TypeError, match=match):
            MaskedLoss("mse", missing_label=value)
        with pytest.raises(TypeError, match=match):
            MaskedMetric("mae", missing_label=value)


def test_masked_wrappers_reject_unknown_losses_and_metrics():
    with pytest.raises(ValueError, match="`loss` must be a Keras loss"):
        MaskedLoss("no_such_loss")
    with pytest.raises(ValueError, match="`metric` must be a Keras metric"):
        MaskedMetric("no_such_metric")
    with pytest.raises(ValueError, match="`metric` must name the metric"):
        MaskedMetric("accuracy")


def test_uncertainty_model_errors():
    inputs, outputs = _two_head_model()
    with pytest.raises(ValueError, match="`outputs` must be a non-empty"):
        UncertaintyWeightedModel(inputs, list(outputs.values()))
    with pytest.raises(ValueError, match="`outputs` must be a non-empty"):
        UncertaintyWeightedModel(inputs, {})
    for bad in (NAN, "0", True):
        with pytest.raises(ValueError, match="`initial_log_variance` must"):
            UncertaintyWeightedModel(inputs, outputs, initial_log_variance=bad)
    model = UncertaintyWeightedModel(inputs, outputs)
    x, y = _data()
    with pytest.raises(ValueError, match="must be compiled with a loss"):
        model.compute_loss(x, y, model(x))
    with pytest.raises(ValueError, match="`loss` is required"):
        model.compile("adam")
    with pytest.raises(ValueError, match="`loss` must have one entry per"):
        model.compile("adam", loss={"a": "mse"})
    with pytest.raises(ValueError, match="`loss` must have one entry per"):
        model.compile("adam", loss=["mse"])
    with pytest.raises(ValueError, match="`loss_weights` must hold numbers"):
        model.compile("adam", loss="mse", loss_weights={"a": -1, "b": 1})
    with pytest.raises(ValueError, match="`loss_weights` must have one"):
        model.compile("adam", loss="mse", loss_weights=[1.0])
    model.compile("adam", loss="mse")
    with pytest.raises(ValueError, match=r"no entry for the task\(s\) \['b'\]"):
        model.compute_loss(x, {"a": y["a"]}, model(x))
