import pytest

from toolkit import _validation as v


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
