"""The reservoir's search spaces (toolkit/tuning/reservoir_spaces.py)."""

import keras_tuner
import pytest

from toolkit.tuning import (
    ESNHyperModel,
    bias_scaling_space,
    combine_spaces,
    connectivity_space,
    input_scaling_space,
    leak_rate_space,
    reservoir_space,
    ridge_space,
    spectral_radius_space,
    units_space,
)


def _declared(hp, name):
    return hp._hps[name][0]


def test_names_defaults_ranges_and_scales():
    hp = keras_tuner.HyperParameters()
    assert spectral_radius_space(hp) == {"spectral_radius": 0.9}
    assert leak_rate_space(hp) == {"leak_rate": 1.0}
    assert input_scaling_space(hp) == {"input_scaling": 1.0}
    assert ridge_space(hp) == {"ridge": 1e-6}
    assert units_space(hp) == {"units": 100}
    assert connectivity_space(hp) == {"connectivity": 0.1}
    assert bias_scaling_space(hp) == {"bias_scaling": 0.0}
    expected = {
        "spectral_radius": (0.1, 1.5, "linear"),
        "leak_rate": (0.05, 1.0, "log"),
        "input_scaling": (0.1, 2.0, "linear"),
        "ridge": (1e-9, 1e-1, "log"),
        "connectivity": (0.01, 0.5, "log"),
        "bias_scaling": (0.0, 1.0, "linear"),
    }
    for name, (low, high, sampling) in expected.items():
        declared = _declared(hp, name)
        assert (declared.min_value, declared.max_value) == (low, high), name
        assert declared.sampling == sampling, name
    assert _declared(hp, "units").values == [100, 200, 500]


def test_scales_and_names_can_change():
    hp = keras_tuner.HyperParameters()
    spectral_radius_space(hp, sampling="log", name="sr")
    leak_rate_space(hp, 0.1, 0.5, default=0.3, sampling="linear")
    assert _declared(hp, "sr").sampling == "log"
    assert _declared(hp, "leak_rate").sampling == "linear"
    assert units_space(hp, values=[50, 80], default=80) == {"units": 80}


def test_reservoir_space_combines_and_takes_each_spaces_arguments():
    hp = keras_tuner.HyperParameters()
    values = reservoir_space(
        hp,
        leak_rate={"min_value": 0.2, "default": 0.5},
        units={"values": [10, 20]},
        connectivity=True,
        ridge=False,
    )
    assert values == {
        "spectral_radius": 0.9,
        "leak_rate": 0.5,
        "input_scaling": 1.0,
        "units": 10,
        "connectivity": 0.1,
    }
    assert "ridge" not in hp.values
    assert _declared(hp, "leak_rate").min_value == 0.2
    # Composable like every other space: a trial's values reach the ESN.
    space = combine_spaces(spectral_radius_space, ridge_space)
    hp = keras_tuner.HyperParameters()
    hp.values.update({"spectral_radius": 1.2, "ridge": 1e-3})
    hypermodel = ESNHyperModel(space, fixed={"units": 8})
    model, fit = hypermodel.split(hypermodel.arguments(hp))
    assert model == {"units": 8, "spectral_radius": 1.2} and fit == {
        "ridge": 1e-3
    }
    assert hypermodel.build(hp).reservoirs[0].spectral_radius == 1.2


ERRORS = [
    ("`sampling` must be one of", lambda hp: spectral_radius_space(
        hp, sampling="exp")),
    ("A log scale needs `min_value` > 0", lambda hp: bias_scaling_space(
        hp, sampling="log")),
    ("`min_value` of `spectral_radius` must be > 0",
     lambda hp: spectral_radius_space(hp, min_value=0.0)),
    ("`min_value` must be numbers low < high",
     lambda hp: input_scaling_space(hp, 2.0, 1.0)),
    ("`default` must lie in", lambda hp: ridge_space(hp, default=1.0)),
    ("`max_value` must be a number in \\(0, 1\\]",
     lambda hp: leak_rate_space(hp, max_value=1.5)),
    ("`max_value` must be a number in \\(0, 1\\]",
     lambda hp: connectivity_space(hp, max_value=2.0)),
    ("`min_value` must be a number in \\[0, inf\\)",
     lambda hp: bias_scaling_space(hp, min_value=-1.0)),
    ("`values` must be a non-empty list", lambda hp: units_space(
        hp, values=[])),
    ("`values` must be a positive integer", lambda hp: units_space(
        hp, values=[0])),
    ("`default` must be one of", lambda hp: units_space(hp, default=7)),
    ("`units` must be True, False or a dict", lambda hp: reservoir_space(
        hp, units=[5])),
]  # fmt: skip


@pytest.mark.parametrize(
    "match, call", ERRORS, ids=[match for match, _ in ERRORS]
)
def test_errors(match, call):
    with pytest.raises(ValueError, match=match):
        call(keras_tuner.HyperParameters())
