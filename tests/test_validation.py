import math

import numpy as np
import pytest

from toolkit import validation as v


def test_positive_int():
    assert v.check_positive_int("units", 3) == 3
    for bad in (0, -1, 1.5, True, "3", None):
        with pytest.raises(
            ValueError,
            match=r"Argument `units` must be a "
            r"positive integer",
        ):
            v.check_positive_int("units", bad)


def test_in_range_open_and_closed_ends():
    assert v.check_in_range("leak_rate", 1.0, 0, 1, low_closed=False) == 1.0
    with pytest.raises(
        ValueError,
        match=r"`leak_rate` must be a number in "
        r"\(0, 1\]. Received: leak_rate=0",
    ):
        v.check_in_range("leak_rate", 0, 0, 1, low_closed=False)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        v.check_rate("dropout", 1.0)
    with pytest.raises(ValueError, match="Received: dropout='a'"):
        v.check_rate("dropout", "a")


def test_choice():
    assert v.check_choice("mode", "a", {"a", "b"}) == "a"
    with pytest.raises(
        ValueError,
        match=r"one of \['a', 'b'\]. "
        r"Received: mode='c'",
    ):
        v.check_choice("mode", "c", {"a", "b"})


@pytest.mark.parametrize(
    "getter",
    [v.get_activation, v.get_initializer, v.get_regularizer, v.get_constraint],
)
def test_keras_object_getters_name_the_argument(getter):
    with pytest.raises(
        ValueError,
        match=r"Argument `thing` .*"
        r"Received: thing='nope'",
    ):
        getter("thing", "nope")


def test_non_negative_int():
    assert v.check_non_negative_int("washout", 0) == 0
    for bad in (-1, 1.5, True, None):
        with pytest.raises(
            ValueError, match="`washout` must be a non-negative integer"
        ):
            v.check_non_negative_int("washout", bad)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "0"])
def test_seed_one_rule(bad):
    assert v.check_seed(None) is None
    assert v.check_seed(0) == 0
    with pytest.raises(
        ValueError,
        match=r"`seed` must be None or an int >= 0. Received: seed=",
    ):
        v.check_seed(bad)


def test_positive_and_non_negative():
    assert v.check_positive("scale", 2) == 2.0
    assert v.check_non_negative("scale", 0) == 0.0
    with pytest.raises(ValueError, match=r"`scale` must be a number in \(0"):
        v.check_positive("scale", 0)
    with pytest.raises(ValueError, match=r"`scale` must be a number in \[0"):
        v.check_non_negative("scale", -0.5)


def test_subset():
    assert v.check_subset("cells", ["lstm"], ("lstm", "gru")) == ("lstm",)
    for bad in ([], ["rnn"]):
        with pytest.raises(
            ValueError, match=r"`cells` must be a non-empty subset of"
        ):
            v.check_subset("cells", bad, ("lstm", "gru"))


def test_is_dataset():
    import tensorflow as tf

    assert v.is_dataset(tf.data.Dataset.range(3))
    assert not v.is_dataset([1, 2, 3])


INTERVALS = [
    (1.0, math.inf, True, True),  # written [1, inf], was the defect
    (0.0, math.inf, False, False),
    (-math.inf, 0.0, True, True),
    (0.0, 1.0, True, True),
]


def test_in_range_refuses_non_finite_values_even_at_a_closed_inf():
    for low, high, low_closed, high_closed in INTERVALS:
        for bad in (math.inf, -math.inf, math.nan, np.inf):
            with pytest.raises(ValueError, match="`tau` must be a number in"):
                v.check_in_range("tau", bad, low, high, low_closed, high_closed)
        inside = 0.0 if high <= 0.0 else 1.0
        assert v.check_in_range("tau", inside, low, high) == inside


def test_in_range_writes_infinite_bounds_open():
    with pytest.raises(ValueError, match=r"in \[1, inf\)\. Received: tau=inf"):
        v.check_in_range("tau", math.inf, 1.0, math.inf)
    with pytest.raises(ValueError, match=r"in \(-inf, 0\]"):
        v.check_in_range("tau", 1.0, -math.inf, 0.0)


@pytest.mark.parametrize("argument", ["tau_min", "tau_max"])
def test_leaky_cell_time_scales_refuse_inf(argument):
    from toolkit.layers import LeakyCell

    with pytest.raises(ValueError, match=rf"`{argument}` must be .*inf\)"):
        LeakyCell(4, **{argument: math.inf})
