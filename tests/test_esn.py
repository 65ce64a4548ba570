"""Tests of toolkit.models.esn (the ESN model) and its compiled loops."""

import keras
import numpy as np
import pytest

from tests import helpers
from toolkit.data import mackey_glass
from toolkit.models import ESN
from toolkit.models import _esn_loops as loops_module


def series(n=400, seed=0):
    s = mackey_glass(n + 1, seed=seed)
    s = 2 * (s - s.min()) / (s.max() - s.min()) - 1
    return s[:-1], s[1:]


def weights(layer):
    return {w.name: w.numpy().astype("float64") for w in layer.weights}


def numpy_esn(model, u, feedback=None, free=False, x0=None, y0=None):
    """The whole network step by step in NumPy: stacked reservoirs
    x^(l)_t = (1-a) x^(l)_{t-1} + a tanh(in^(l)_t W_in + x^(l)_{t-1} W + b),
    with in^(1) = u (plus y_{t-1} W_fb) and in^(l) = x^(l-1); the readout
    sees [u,] x^(1), ..., x^(L). Returns (features, outputs, states, y)."""
    layers = [weights(r) for r in model.reservoirs]
    out = weights(model.readout)
    a = model.reservoirs[0].leak_rate
    states = x0 or [np.zeros(r.units) for r in model.reservoirs]
    y = np.zeros(model.output_dim) if y0 is None else y0
    features, outputs = [], []
    for t in range(len(u)):
        hidden, new = u[t], []
        for i, (w, x) in enumerate(zip(layers, states)):
            pre = hidden @ w["kernel"] + x @ w["recurrent_kernel"] + w["bias"]
            if i == 0 and model.feedback:
                pre += (y if free else feedback[t]) @ w["feedback_kernel"]
            hidden = (1 - a) * x + a * np.tanh(pre)
            new.append(hidden)
        states = new
        f = np.concatenate(([u[t]] if model.input_to_readout else []) + new)
        y = f @ out["kernel"] + out["bias"]
        features.append(f)
        outputs.append(y)
    return np.array(features), np.array(outputs), states, y


def ridge_reference(features, targets, ridge):
    """Normal equations with an unpenalised bias, written out."""
    mean_f, mean_t = features.mean(0), targets.mean(0)
    fc, tc = features - mean_f, targets - mean_t
    kernel = np.linalg.solve(
        fc.T @ fc + ridge * np.eye(features.shape[1]), fc.T @ tc
    )
    return kernel, mean_t - mean_f @ kernel


def test_deep_esn_closed_form_fit_matches_numpy_reference():
    x, y = series(300)
    model = ESN(
        [20, 15],
        spectral_radius=1.1,
        leak_rate=0.4,
        bias_scaling=0.2,
        input_to_readout=True,
        seed=0,
    )
    model.fit(x, y, washout=30, ridge=1e-4)
    features, _, _, _ = numpy_esn(model, x)
    kernel, bias = ridge_reference(features[30:], y[30:], 1e-4)
    np.testing.assert_allclose(model.readout.kernel.numpy(), kernel, atol=2e-3)
    _, outputs, _, _ = numpy_esn(model, x)
    np.testing.assert_allclose(model.predict(x), outputs, atol=1e-5)
    train_error = np.sqrt(np.mean((outputs[30:] - y[30:]) ** 2))
    assert train_error < 0.05 * y.std()  # the ESN does learn MG-17


def test_many_sequences_in_one_call_and_chunking_change_nothing():
    x, y = series(500)
    parts_x = [x[:200], x[200:320], x[320:]]
    parts_y = [y[:200], y[200:320], y[320:]]
    listed = ESN(16, spectral_radius=1.2, leak_rate=0.5, seed=1)
    listed.fit(parts_x, parts_y, washout=10, ridge=1e-5)
    feats = [numpy_esn(listed, p)[0][10:] for p in parts_x]
    kernel, bias = ridge_reference(
        np.vstack(feats), np.vstack([p[10:] for p in parts_y]), 1e-5
    )
    np.testing.assert_allclose(listed.readout.bias.numpy(), bias, atol=1e-3)
    np.testing.assert_allclose(listed.readout.kernel.numpy(), kernel, atol=1e-3)
    # A (batch, time, features) array, in chunks of 64 steps (states carried
    # across chunks), gives the same readout as the list, in one chunk.
    batched = ESN(16, spectral_radius=1.2, leak_rate=0.5, seed=1)
    x3, y3 = x[:480].reshape(3, 160, 1), y[:480].reshape(3, 160, 1)
    batched.fit(x3, y3, washout=10, chunk_size=64)
    whole = ESN(16, spectral_radius=1.2, leak_rate=0.5, seed=1)
    whole.fit(list(x3), list(y3), washout=10)
    np.testing.assert_allclose(
        batched.readout.kernel.numpy(), whole.readout.kernel.numpy(), atol=1e-6
    )
    out = batched.predict(x3, chunk_size=64)
    assert out.shape == (3, 160, 1)
    listed_out = batched.predict(list(x3))
    assert isinstance(listed_out, list)
    np.testing.assert_allclose(out[1], listed_out[1], atol=1e-5)


def test_predict_with_warmup_call_and_generate_agree_with_numpy():
    x, y = series(300)
    model = ESN(24, spectral_radius=1.25, leak_rate=0.3, seed=2)
    model.fit(x[:200], y[:200], washout=20)
    _, outputs, states, last = numpy_esn(model, x[:250])
    got = model.predict(x[200:250], warmup=x[:200])
    np.testing.assert_allclose(got, outputs[200:], atol=1e-5)
    graph = model(x[None, :50].astype("float32"))
    np.testing.assert_allclose(np.asarray(graph)[0], outputs[:50], atol=1e-5)
    # Closed loop: the prediction at the last warmup step is the first value
    # generated; each generated value is the next input.
    generated = model.generate(5, warmup=x[:250])
    expected = [last]
    for _ in range(4):
        _, out, states, last = numpy_esn(model, last[None], x0=states)
        expected.append(last)
    np.testing.assert_allclose(generated, np.array(expected), atol=1e-4)
    assert model.generate(1, warmup=x[None, :250]).shape == (1, 1, 1)


def test_feedback_teacher_forced_fit_and_free_running_predict():
    x, y = series(200)
    model = ESN(
        18, spectral_radius=0.9, feedback=True, feedback_scaling=0.1, seed=3
    )
    model.fit(x, y, washout=20, ridge=1e-3)
    teacher = np.vstack([np.zeros((1, 1)), y[:-1]])  # y_{t-1}
    features, _, _, _ = numpy_esn(model, x, feedback=teacher)
    kernel, _ = ridge_reference(features[20:], y[20:], 1e-3)
    np.testing.assert_allclose(model.readout.kernel.numpy(), kernel, atol=1e-3)
    _, outputs, _, _ = numpy_esn(model, x[:60], free=True)
    np.testing.assert_allclose(model.predict(x[:60]), outputs, atol=1e-4)
    graph = np.asarray(model(x[None, :60].astype("float32")))[0]
    np.testing.assert_allclose(graph, outputs, atol=1e-4)


def test_config_round_trip_and_save_load(tmp_path):
    x, y = series(120)
    model = ESN([10, 6], leak_rate=0.5, feedback=True, seed=4, name="esn")
    model.fit(x, y, washout=10)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    loaded = helpers.assert_saves_and_loads(model, x[None, :40], tmp_path)
    assert isinstance(loaded, ESN) and loaded.units == [10, 6]
    np.testing.assert_allclose(
        loaded.generate(3, warmup=x[:40]), model.generate(3, warmup=x[:40])
    )


def test_gradient_training_through_keras_fit():
    x, y = series(100)
    model = ESN(10, seed=5)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(
        x[None], y[None], washout=10, method="gradient", epochs=2, verbose=0
    )
    assert np.isfinite(history.history["loss"]).all()
    fixed = [w.numpy().copy() for w in model.reservoirs[0].weights]
    before = model.readout.kernel.numpy().copy()
    model.fit(x[None], y[None], method="gradient", epochs=1, verbose=0)
    assert np.abs(model.readout.kernel.numpy() - before).max() > 0
    for old, weight in zip(fixed, model.reservoirs[0].weights):
        np.testing.assert_array_equal(old, weight.numpy())


def _nan_at_step_7(x):
    bad = x.copy()
    bad[7] = np.nan
    return bad


# Each case: the `fit` arguments from the series (x, y), the message.
FIT_ERRORS = {
    "washout-too-long": (
        lambda x, y: dict(x=x, y=y, washout=50),
        "`washout` must be an integer >= 0 and",
    ),
    "washout-negative": (
        lambda x, y: dict(x=x, y=y, washout=-1),
        "Received: washout=-1",
    ),
    "washout-of-shortest": (
        lambda x, y: dict(x=[x, x[:20]], y=[y, y[:20]], washout=20),
        "shortest: 20",
    ),
    "nan-input": (
        lambda x, y: dict(x=_nan_at_step_7(x), y=y),
        r"`x` contains NaN .*first at step 7",
    ),
    "inf-target": (
        lambda x, y: dict(x=x, y=np.full_like(y, np.inf)),
        "`y` contains NaN or inf",
    ),
    "beyond-float32-input": (
        lambda x, y: dict(
            x=np.where(np.arange(50)[:, None] == 9, 1e39, x), y=y
        ),
        r"`x` holds values beyond the float32 range .*first at step 9",
    ),
    "beyond-float32-target": (
        lambda x, y: dict(x=x, y=np.full_like(y, -1e300)),
        r"`y` holds values beyond the float32 range",
    ),
    "ridge": (
        lambda x, y: dict(x=x, y=y, ridge=-1.0),
        "`ridge` must be a finite number",
    ),
    "method": (
        lambda x, y: dict(x=x, y=y, method="sgd"),
        "`method` must be one of",
    ),
    "keras-argument": (
        lambda x, y: dict(x=x, y=y, epochs=3),
        "apply only to `method='gradient'`",
    ),
    "sequence-count": (
        lambda x, y: dict(x=[x, x], y=[y]),
        "same number of sequences",
    ),
    "target-length": (
        lambda x, y: dict(x=x, y=y[:40]),
        "has 50 steps but its target has 40",
    ),
    "target-features": (
        lambda x, y: dict(x=x, y=np.hstack([y, y])),
        "`output_dim`=1 features",
    ),
    "rank": (
        lambda x, y: dict(x=np.zeros((2, 2, 2, 2)), y=y),
        "Received: an array of shape",
    ),
    "feature-count": (
        lambda x, y: dict(x=[x, np.hstack([x, x])], y=[y, y]),
        "same number of features",
    ),
    "dtype": (lambda x, y: dict(x=x.astype(str), y=y), "must be numeric"),
    "missing-x": (lambda x, y: dict(x=None, y=y), "`x` is required"),
    "chunk-size": (
        lambda x, y: dict(x=x, y=y, chunk_size=0),
        "`chunk_size` must be a positive",
    ),
}


@pytest.mark.parametrize(
    "arguments, match", FIT_ERRORS.values(), ids=FIT_ERRORS.keys()
)
def test_bad_series_and_arguments_fail_before_any_work(arguments, match):
    x, y = series(50)
    model = ESN(8, seed=0)
    with pytest.raises(ValueError, match=match):
        model.fit(**arguments(x, y))
    assert not model.built  # nothing ran


FITTED_ERRORS = {
    "input-features": (
        lambda model, x, y: model.predict(np.hstack([x, x])),
        "built for 1 input features",
    ),
    "gradient-lengths": (
        lambda model, x, y: model.fit(
            [x, x[:30]], [y, y[:30]], method="gradient", epochs=1, verbose=0
        ),
        "equal length",
    ),
    "warmup-count": (
        lambda model, x, y: model.predict(x, warmup=[x, x]),
        "one sequence per sequence",
    ),
}


@pytest.mark.parametrize(
    "call, match", FITTED_ERRORS.values(), ids=FITTED_ERRORS.keys()
)
def test_bad_arguments_to_a_fitted_model(call, match):
    x, y = series(50)
    model = ESN(8, seed=0)
    model.fit(x, y)
    with pytest.raises(ValueError, match=match):
        call(model, x, y)


# Each case: the model's arguments, `generate`'s from the series, message.
GENERATE_ERRORS = {
    "features": (
        dict(units=6, output_dim=2, seed=0),
        lambda x: (3, x),
        "`output_dim`=2 features",
    ),
    "lengths": (
        dict(units=6),
        lambda x: (3, [x, x[:20]]),
        "sequences of equal length",
    ),
    "steps": (dict(units=6), lambda x: (0, x), "`steps` must be a positive"),
}


@pytest.mark.parametrize(
    "options, arguments, match",
    GENERATE_ERRORS.values(),
    ids=GENERATE_ERRORS.keys(),
)
def test_generate_errors(options, arguments, match):
    x, _ = series(40)
    steps, warmup = arguments(x)
    with pytest.raises(ValueError, match=match):
        ESN(**options).generate(steps, warmup=warmup)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(units=[]), "non-empty list of ints"),
        (dict(units=[4, 0]), "`units` must be a positive"),
        (
            dict(units=4, readout_dtype="float16"),
            "`readout_dtype` must be one of",
        ),
        (dict(units=4, leak_rate=2.0), r"`leak_rate` must be a number in"),
        (dict(units=4, seed="a"), "`seed` must be None or an int"),
    ],
)
def test_constructor_errors(options, match):
    with pytest.raises(ValueError, match=match):
        ESN(**options)


def test_states_carry_from_fit_to_predict():
    x, y = series(260)
    model = ESN([12, 8], leak_rate=0.5, seed=6)
    states = model.fit(x[:200], y[:200], washout=20, return_state=True)
    assert [s.shape for s in states] == [(12,), (8,)]
    _, outputs, ref_states, _ = numpy_esn(model, x)
    np.testing.assert_allclose(states[0], numpy_esn(model, x[:200])[2][0],
                               atol=1e-5)  # fmt: skip
    got, last = model.predict(x[200:], initial_state=states, return_state=True)
    np.testing.assert_allclose(got, outputs[200:], atol=1e-5)
    np.testing.assert_allclose(last[1], ref_states[1], atol=1e-5)
    batched = model.predict(
        x[None, 200:], initial_state=[s[None] for s in states]
    )
    np.testing.assert_allclose(batched[0], got, atol=1e-6)
    with pytest.raises(ValueError, match="one state per reservoir"):
        model.predict(x[200:], initial_state=states[:1])
    with pytest.raises(ValueError, match="need `x` as one array"):
        model.predict([x[200:]], return_state=True)
    with pytest.raises(ValueError, match="need `x` as one array"):
        model.fit([x], [y], return_state=True)


def test_sparse_reservoir_loop_matches_numpy_reference(monkeypatch):
    # 300 units at 5% connectivity, with the size threshold lowered:
    # predict runs the gathered sparse product (batch 1); a batch of 8
    # runs the dense one.
    monkeypatch.setattr(loops_module, "SPARSE_MIN_BYTES", 0)
    x, y = series(150)
    model = ESN(300, connectivity=0.05, leak_rate=0.5, seed=7)
    model.fit(x[:100], y[:100], washout=10)
    assert loops_module.sparse_layout(model.reservoirs[0], 1) is not None
    assert loops_module.sparse_layout(model.reservoirs[0], 8) is None
    _, outputs, _, _ = numpy_esn(model, x)
    np.testing.assert_allclose(model.predict(x), outputs, atol=1e-4)
    batch = model.predict(np.repeat(x[None], 8, axis=0))
    np.testing.assert_allclose(batch[3], outputs, atol=1e-4)


@pytest.mark.parametrize("threads", [False, True])
def test_fit_with_ridge_in_background_thread_is_identical(monkeypatch, threads):
    # The normal equations of chunk i may be accumulated while chunk i + 1
    # runs (when more than one thread is allowed): same sums, same order.
    x, y = series(300)
    reference = ESN(40, seed=3).fit(x, y, washout=20, chunk_size=64)
    monkeypatch.setattr(loops_module, "host_threads_allowed", lambda: threads)
    model = ESN(40, seed=3).fit(x, y, washout=20, chunk_size=64)
    for a, b in zip(reference.readout.weights, model.readout.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
