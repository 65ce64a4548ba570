"""Tests of the ESN's search and stability tools: `redraw`, noise during
the teacher-forced fit, the ridge chosen on validation data
(toolkit/models/_esn_fit.py) and `generation_nrmse`
(toolkit/models/_esn_scores.py)."""

import numpy as np
import pytest

from tests import helpers
from tests.test_esn import numpy_esn, ridge_reference, series, weights
from toolkit.layers import Reservoir
from toolkit.models import ESN, generation_nrmse
from toolkit.models import _esn_loops as loops_module

REDRAWN = dict(
    spectral_radius=1.1, leak_rate=0.4, input_scaling=0.5, bias_scaling=0.2
)


def _tracing_count(function):
    count = getattr(function, "experimental_get_tracing_count", None)
    return None if count is None else count()


def test_redraw_equals_a_fresh_esn_and_reuses_the_compiled_loop(tmp_path):
    x, y = series(200)
    model = ESN([16, 8], spectral_radius=0.9, input_to_readout=True, seed=0)
    model.fit(x, y, washout=20)
    model.predict(x[:50])
    cache = dict(loops_module._SHARED_LOOPS)
    traces = {key: _tracing_count(f) for key, f in cache.items()}
    variables = [id(w) for w in model.weights]
    assert model.redraw(seed=5, **REDRAWN) is model
    with pytest.raises(ValueError, match="call `fit` first"):
        model.predict(x[:50])
    with pytest.raises(ValueError, match="call `fit` first"):
        model.generate(3, warmup=x[:50])
    fresh = ESN([16, 8], input_to_readout=True, seed=5, **REDRAWN)
    fresh.fit(x, y, washout=20)
    for a, b in zip(model.reservoirs, fresh.reservoirs):
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    model.fit(x, y, washout=20)
    np.testing.assert_allclose(
        model.predict(x[:50]), fresh.predict(x[:50]), atol=1e-6
    )
    _, outputs, _, _ = numpy_esn(model, x[:50])  # the new leak rate too
    np.testing.assert_allclose(model.predict(x[:50]), outputs, atol=1e-5)
    assert [id(w) for w in model.weights] == variables
    # No new compiled loop: same cache entries, no new trace.
    assert loops_module._SHARED_LOOPS.keys() == cache.keys()
    for key, function in loops_module._SHARED_LOOPS.items():
        assert _tracing_count(function) == traces[key]
    config = {**model.get_config(), "name": None}
    assert config == {**fresh.get_config(), "name": None}
    loaded = helpers.assert_saves_and_loads(model, x[None, :40], tmp_path)
    assert loaded.get_config()["leak_rate"] == 0.4 and loaded.seed == 5


def test_redraw_of_a_feedback_model_and_of_an_unbuilt_reservoir():
    x, y = series(150)
    model = ESN(12, feedback=True, feedback_scaling=0.5, seed=1)
    model.fit(x, y, washout=10)
    model.redraw(seed=2, feedback_scaling=0.1).fit(x, y, washout=10)
    fresh = ESN(12, feedback=True, feedback_scaling=0.1, seed=2)
    fresh.fit(x, y, washout=10)
    np.testing.assert_allclose(model.predict(x), fresh.predict(x), atol=1e-6)
    layer = Reservoir(9, seed=0).redraw(seed=3, leak_rate=0.2)
    layer.build((None, None, 1))
    other = Reservoir(9, leak_rate=0.2, seed=3)
    other.build((None, None, 1))
    for a, b in zip(layer.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    unseeded = ESN(10, seed=0)
    unseeded.fit(x, y)
    before = unseeded.reservoirs[0].recurrent_kernel.numpy()
    unseeded.redraw()  # seed None: fresh random draws
    assert unseeded.seed is None
    after = unseeded.reservoirs[0].recurrent_kernel.numpy()
    assert np.abs(before - after).max() > 0


REDRAW_ERRORS = {
    "units": (dict(units=20), r"cannot change \['units'\]"),
    "connectivity": (dict(connectivity=0.5), "structure"),
    "activation": (dict(activation="relu"), r"\['activation'\]"),
    "leak-range": (dict(leak_rate=2.0), r"`leak_rate` must be a number in"),
    "seed": (dict(seed=-1), "`seed` must be None or an int"),
}


@pytest.mark.parametrize(
    "arguments, match", REDRAW_ERRORS.values(), ids=REDRAW_ERRORS.keys()
)
def test_redraw_errors(arguments, match):
    model = ESN([6, 4], seed=0)
    with pytest.raises(ValueError, match=match):
        model.redraw(**arguments)
    assert model.reservoirs[0].leak_rate == 1.0  # nothing changed


def test_redraw_refuses_the_scaling_of_a_brought_matrix():
    model = ESN([20, 10], recurrent_initializer=[None, "orthogonal"], seed=0)
    with pytest.raises(ValueError, match="cannot set `spectral_radius`"):
        model.redraw(spectral_radius=1.2)
    assert model.reservoirs[0].spectral_radius == 0.9  # checked first
    model.redraw(seed=1, leak_rate=0.5)  # the others are allowed
    assert model.get_config()["recurrent_initializer"][0] is None


def _noisy_reference(model, u, input_noise, state_noise):
    """The fit's teacher-forced run with noise, in NumPy: u_t + n_t enters
    (and reaches the readout); every reservoir's new state gets its slice
    of the state noise before anything reads it."""
    layers = [weights(r) for r in model.reservoirs]
    a = model.reservoirs[0].leak_rate
    states = [np.zeros(r.units) for r in model.reservoirs]
    features = []
    for t in range(len(u)):
        hidden = u[t] + input_noise[t]
        noisy_input, new, offset = hidden, [], 0
        for w, x in zip(layers, states):
            pre = hidden @ w["kernel"] + x @ w["recurrent_kernel"] + w["bias"]
            n = len(x)
            hidden = (1 - a) * x + a * np.tanh(pre)
            hidden = hidden + state_noise[t, offset : offset + n]
            offset += n
            new.append(hidden)
        states = new
        features.append(np.concatenate([noisy_input] + new))
    return np.array(features), states


def test_fit_noise_matches_a_numpy_loop_with_the_same_noise():
    x, y = series(300)
    model = ESN(
        [14, 10], leak_rate=0.6, connectivity=0.3, input_to_readout=True,
        seed=2,
    )  # fmt: skip
    states = model.fit(
        x, y, washout=20, ridge=1e-4, state_noise=0.01, input_noise=0.05,
        noise_seed=7, chunk_size=64, return_state=True,
    )  # fmt: skip
    # The documented draw: SeedSequence(seed).spawn(2), inputs then
    # states; step t's noise is row t of a (timesteps, batch, width) draw.
    input_seed, state_seed = np.random.SeedSequence(7).spawn(2)
    draws = []
    for seed, width, std in [(input_seed, 1, 0.05), (state_seed, 24, 0.01)]:
        noise = np.random.default_rng(seed).standard_normal((300, 1, width))
        draws.append((noise[:, 0] * std).astype("float32").astype("f8"))
    features, ref_states = _noisy_reference(model, x, *draws)
    for got, expected in zip(states, ref_states):
        np.testing.assert_allclose(got, expected, atol=2e-5)
    kernel, bias = ridge_reference(features[20:], y[20:], 1e-4)
    np.testing.assert_allclose(model.readout.kernel.numpy(), kernel, atol=2e-3)
    np.testing.assert_allclose(model.readout.bias.numpy(), bias, atol=2e-3)
    # Prediction is noiseless.
    _, outputs, _, _ = numpy_esn(model, x[:60])
    np.testing.assert_allclose(model.predict(x[:60]), outputs, atol=1e-5)


def test_zero_noise_is_bit_identical_and_noise_changes_the_fit():
    x, y = series(200)
    plain = ESN(20, seed=3).fit(x, y, washout=10)
    zero = ESN(20, seed=3).fit(
        x, y, washout=10, state_noise=0.0, input_noise=0.0, noise_seed=1
    )
    for a, b in zip(plain.readout.weights, zero.readout.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    noisy = ESN(20, seed=3).fit(x, y, washout=10, state_noise=1e-3)
    diff = noisy.readout.kernel.numpy() - plain.readout.kernel.numpy()
    assert np.abs(diff).max() > 1e-6


def _nrmse(p, t):
    return np.sqrt(np.mean((p - t) ** 2)) / np.std(t)


RIDGES = [1e-9, 1e-5, 1e-2, 10.0]


def test_ridge_chosen_on_validation_split_matches_numpy():
    x, y = series(400)
    model = ESN(30, spectral_radius=1.2, leak_rate=0.3, seed=4)
    model.fit(x, y, washout=30, ridge=RIDGES, validation_split=0.25)
    features, _, _, _ = numpy_esn(model, x)
    split = 400 - 100
    scores = {}
    for ridge in RIDGES:
        kernel, bias = ridge_reference(features[30:split], y[30:split], ridge)
        scores[ridge] = _nrmse(features[split:] @ kernel + bias, y[split:])
    best = min(scores, key=scores.get)
    assert model.ridge_ == best
    assert list(model.ridge_scores_) == RIDGES
    for ridge in RIDGES:
        assert model.ridge_scores_[ridge] == pytest.approx(
            scores[ridge], rel=1e-3
        )
    # The readout kept is the best one's (compared by its outputs: with a
    # tiny ridge the weights themselves are ill-conditioned).
    kernel, bias = ridge_reference(features[30:split], y[30:split], best)
    got = features @ model.readout.kernel.numpy() + model.readout.bias.numpy()
    np.testing.assert_allclose(got, features @ kernel + bias, atol=1e-3)


def test_ridge_chosen_on_validation_data_matches_numpy():
    x, y = series(300)
    vx, vy = series(150, seed=1)
    model = ESN(20, leak_rate=0.5, feedback=True, feedback_scaling=0.1, seed=5)
    model.fit(x, y, washout=20, ridge=RIDGES, validation_data=(vx, vy))
    teacher = np.vstack([np.zeros((1, 1)), y[:-1]])
    train, _, _, _ = numpy_esn(model, x, feedback=teacher)
    v_teacher = np.vstack([np.zeros((1, 1)), vy[:-1]])
    held, _, _, _ = numpy_esn(model, vx, feedback=v_teacher)
    scores = {}
    for ridge in RIDGES:
        kernel, bias = ridge_reference(train[20:], y[20:], ridge)
        scores[ridge] = _nrmse(held[20:] @ kernel + bias, vy[20:])
    assert model.ridge_ == min(scores, key=scores.get)
    for ridge in RIDGES:
        assert model.ridge_scores_[ridge] == pytest.approx(
            scores[ridge], rel=1e-3
        )
    single = ESN(8, seed=0).fit(x, y, ridge=1e-3)
    assert single.ridge_ == 1e-3 and single.ridge_scores_ is None


VALIDATION_ERRORS = {
    "list-without-validation": (
        dict(ridge=[1e-3, 1e-2]),
        "needs `validation_data=",
    ),
    "both": (
        dict(validation_split=0.2, validation_data=(0, 0)),
        "not both",
    ),
    "split-range": (dict(validation_split=1.0), "`validation_split` must"),
    "split-too-long": (
        dict(validation_split=0.9, washout=10),
        "more than `washout`=10 training steps",
    ),
    "data-pair": (dict(validation_data=[1, 2, 3]), "must be a pair"),
    "data-features": (
        dict(validation_data=(np.zeros((30, 2)), np.zeros((30, 1)))),
        r"features of `x` \(1\)",
    ),
    "empty-list": (dict(ridge=[]), "non-empty list"),
    "bad-ridge": (dict(ridge=[1.0, -1.0]), "`ridge` must be a finite"),
    "noise": (dict(state_noise=-0.1), "`state_noise` must be a number"),
    "noise-seed": (dict(noise_seed=-2), "`noise_seed` must be None"),
    "gradient": (
        dict(method="gradient", state_noise=0.1),
        "apply only to `method='ridge'`",
    ),
}


@pytest.mark.parametrize(
    "arguments, match", VALIDATION_ERRORS.values(), ids=VALIDATION_ERRORS
)
def test_fit_option_errors(arguments, match):
    x, y = series(50)
    model = ESN(8, seed=0)
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, **arguments)
    assert not model.built


def test_generation_nrmse_matches_a_hand_computation():
    s, _ = series(700)
    model = ESN(40, spectral_radius=1.2, leak_rate=0.3, seed=6)
    model.fit(s[:499], s[1:500], washout=50)
    warmup, truth = s[300:500], s[500:]
    generated = model.generate(30, warmup=warmup)
    expected = np.sqrt(np.mean((generated - truth[:30]) ** 2)) / truth.std()
    got = generation_nrmse(model, warmup, truth, steps=30)
    assert got == pytest.approx(expected, rel=1e-6)
    whole = model.generate(len(truth), warmup=warmup)
    expected = np.sqrt(np.mean((whole - truth) ** 2)) / truth.std()
    got = generation_nrmse(model, warmup, truth)
    assert got == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="`steps` must be at most"):
        generation_nrmse(model, warmup, truth, steps=1000)
    with pytest.raises(ValueError, match="`truth` must be"):
        generation_nrmse(model, warmup, np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="`steps` must be a positive"):
        generation_nrmse(model, warmup, truth, steps=0)
    with pytest.raises(ValueError, match="same layout"):
        generation_nrmse(model, warmup, np.zeros((3, 5, 1)))
    with pytest.raises(ValueError, match="call `fit` first"):
        generation_nrmse(ESN(20, seed=0), warmup, truth)


def test_nrmse_per_output_against_numpy():
    from toolkit.models import nrmse

    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 40, 2)) * [1.0, 5.0]
    p = y + rng.normal(size=y.shape) * [0.1, 2.0]
    flat_y, flat_p = y.reshape(-1, 2), p.reshape(-1, 2)
    expected = np.mean(
        [
            np.sqrt(np.mean((flat_p[:, k] - flat_y[:, k]) ** 2))
            / np.std(flat_y[:, k])
            for k in range(2)
        ]
    )
    assert nrmse(y, p) == pytest.approx(expected, rel=1e-12)
    assert nrmse(y[0, :, 0], y[0, :, 0]) == 0.0
    # Predicting the mean scores 1.
    assert nrmse(y, np.broadcast_to(y.mean((0, 1)), y.shape)) == (
        pytest.approx(1.0)
    )


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        (np.ones((5, 1)), np.zeros((5, 1)), "undefined for a constant target"),
        (np.arange(5.0), np.zeros(4), "must have the same shape"),
        (np.zeros(0), np.zeros(0), "`y_true` must be a non-empty array"),
    ],
)
def test_nrmse_errors(y_true, y_pred, match):
    from toolkit.models import nrmse

    with pytest.raises(ValueError, match=match):
        nrmse(y_true, y_pred)


def test_cached_recurrent_draw_equals_an_uncached_one(monkeypatch):
    from toolkit.layers.reservoir import reservoir as module

    module._RECURRENT_DRAWS.clear()
    calls = []
    original = module.w.radius_of
    monkeypatch.setattr(
        module.w,
        "radius_of",
        lambda matrix, seed: calls.append(seed) or original(matrix, seed),
    )
    x = np.zeros((1, 3, 2), "float32")

    def drawn(**options):
        layer = Reservoir(150, seed=3, **options)
        layer(x)
        return [weight.numpy() for weight in layer.weights]

    first = drawn(spectral_radius=0.9)
    second = drawn(spectral_radius=1.3, input_scaling=0.5)
    assert len(calls) == 1  # the second draw came from the cache
    module._RECURRENT_DRAWS.clear()
    uncached = drawn(spectral_radius=1.3, input_scaling=0.5)
    assert len(calls) == 2
    for cached, fresh in zip(second, uncached):
        np.testing.assert_array_equal(cached, fresh)
    np.testing.assert_allclose(second[0] / 1.3, first[0] / 0.9, rtol=1e-6)
