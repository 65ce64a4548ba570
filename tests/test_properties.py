"""Property-based tests (Hypothesis) of what users feed text and numbers
to: the tree parser and the data generators' arguments.

Settings: few examples, no deadline (the machine is shared) and
`derandomize=True`, so every run tries the same examples.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.data import (
    Tree,
    TreeParseError,
    adding_problem,
    copy_memory,
    listops,
    mackey_glass,
    narma,
    parse_tree,
)
from toolkit.data.listops import evaluate_listops

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)


# ------------------------------------------------------------ tree parser
def _check_parse(text, line_number=None):
    """Either a tree or a TreeParseError that quotes the line and marks the
    position; any other exception fails the test."""
    try:
        tree = parse_tree(text, line_number=line_number)
    except TreeParseError as error:
        message = str(error)
        head, quoted, caret = message.rsplit("\n", 2)
        position = int(head.split("position ")[1].split(":")[0])
        assert quoted == "    " + text.rstrip("\n")
        assert caret == " " * (4 + position) + "^"
        assert 0 <= position <= len(text)
        if line_number is not None:
            assert f"line {line_number}, " in head
        return None
    assert isinstance(tree, Tree)
    return tree


BRACKETS = st.text(alphabet="() 12-a\t", max_size=30)
TOKENS = st.text(
    alphabet=st.characters(
        exclude_categories=("Z", "C"), exclude_characters="()"
    ),
    min_size=1,
    max_size=4,
)
LABELS = st.integers(-3, 12)


def _trees():
    leaves = st.builds(
        lambda label, token: Tree(label, token=token), LABELS, TOKENS
    )
    return st.recursive(
        leaves,
        lambda children: st.builds(
            Tree, LABELS, st.lists(children, min_size=1, max_size=3)
        ),
        max_leaves=12,
    )


@FAST
@given(BRACKETS, st.one_of(st.none(), st.integers(1, 99)))
def test_random_bracketings_give_a_tree_or_a_quoting_error(text, number):
    _check_parse(text, number)
    _check_parse(text + "\n", number)


@FAST
@given(_trees())
def test_printed_trees_parse_back(tree):
    assert parse_tree(str(tree)) == tree
    assert parse_tree(str(tree) + "\n") == tree


@FAST
@given(_trees(), st.data())
def test_damaged_trees_give_a_tree_or_a_quoting_error(tree, data):
    text = str(tree)
    start = data.draw(st.integers(0, len(text) - 1))
    stop = data.draw(st.integers(start, min(len(text), start + 3)))
    insert = data.draw(st.sampled_from(["", "(", ")", "x", " ", "(1"]))
    _check_parse(text[:start] + insert + text[stop:])


# ------------------------------------------------------------ generators
SEEDS = st.one_of(st.none(), st.integers(0, 2**32))


@FAST
@given(st.integers(1, 6), st.integers(2, 30), SEEDS)
def test_adding_problem_shapes_and_targets(n, timesteps, seed):
    x, y = adding_problem(n, timesteps, seed=seed)
    assert x.shape == (n, timesteps, 2) and x.dtype == np.float32
    assert y.shape == (n, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(x[..., 1].sum(axis=1), 2.0)
    expected = (x[..., 0] * x[..., 1]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@FAST
@given(
    st.integers(1, 5),
    st.integers(1, 20),
    st.integers(1, 9),
    st.integers(1, 6),
    SEEDS,
)
def test_copy_memory_shapes_and_targets(n, timesteps, symbols, length, seed):
    x, y = copy_memory(
        n, timesteps, n_symbols=symbols, copy_length=length, seed=seed
    )
    assert x.shape == y.shape == (n, timesteps + 2 * length)
    assert x.dtype == y.dtype == np.int32
    np.testing.assert_array_equal(y[:, -length:], x[:, :length])
    assert x.max() == symbols + 1 and y.max() <= symbols and x.min() >= 0


@FAST
@given(
    st.integers(1, 40),
    st.integers(1, 30),
    st.sampled_from([0.1, 0.5, 1.0]),
    st.integers(1, 3),
    st.floats(0, 0.2),
    SEEDS,
)
def test_mackey_glass_shapes(n, lag, dt, every, noise, seed):
    series = mackey_glass(
        n, tau=lag * dt, dt=dt, sampling=every * dt, noise=noise, seed=seed
    )
    assert series.shape == (n, 1) and series.dtype == np.float64
    assert np.all(np.isfinite(series))


@FAST
@given(st.integers(1, 60), st.integers(1, 10), SEEDS)
def test_narma_shapes(n, order, seed):
    u, y = narma(n, order=order, seed=seed)
    assert u.shape == y.shape == (n, 1)
    assert u.dtype == y.dtype == np.float64
    assert np.all((u >= 0) & (u < 0.5))


@FAST
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(2, 4),
    st.floats(0, 1),
    SEEDS,
)
def test_listops_shapes_and_labels(n, depth, args, probability, seed):
    expressions, trees, labels = listops(
        n,
        max_depth=depth,
        max_args=args,
        operator_probability=probability,
        seed=seed,
    )
    assert len(expressions) == len(trees) == n
    assert labels.shape == (n,) and labels.dtype == np.int32
    assert [evaluate_listops(e) for e in expressions] == labels.tolist()
    assert all(t.height() <= depth for t in trees)


# Invalid arguments: the call, the arguments that stay valid, and for each
# argument the bad values to try.
POSITIVE_INT_BAD = [0, -1, 1.5, "3", True, None]
SEED_BAD = [-1, 1.5, "0", True]
FLOAT_BAD = [math.nan, math.inf, "0.1", None]
GENERATORS = {
    "adding_problem": (
        adding_problem,
        {"n": 2, "timesteps": 5, "seed": 0},
        {"n": POSITIVE_INT_BAD, "timesteps": POSITIVE_INT_BAD + [1]},
    ),
    "copy_memory": (
        copy_memory,
        {"n": 2, "timesteps": 5, "n_symbols": 3, "copy_length": 2},
        {
            "n": POSITIVE_INT_BAD,
            "timesteps": POSITIVE_INT_BAD,
            "n_symbols": POSITIVE_INT_BAD,
            "copy_length": POSITIVE_INT_BAD,
        },
    ),
    "mackey_glass": (
        mackey_glass,
        {"n": 3, "tau": 1.0, "dt": 0.5},
        {
            "n": POSITIVE_INT_BAD,
            "tau": FLOAT_BAD + [0.0, -1.0, 0.3],
            "dt": FLOAT_BAD + [0.0, -0.1],
            "sampling": FLOAT_BAD + [0.0, 0.7],
            "noise": FLOAT_BAD + [-0.1],
            "discard": [-1, 1.5, "2", None],
            "a": FLOAT_BAD,
            "b": FLOAT_BAD,
            "power": FLOAT_BAD,
            "x0": FLOAT_BAD,
        },
    ),
    "narma": (
        narma,
        {"n": 5, "order": 2},
        {"n": POSITIVE_INT_BAD, "order": POSITIVE_INT_BAD},
    ),
    "listops": (
        listops,
        {"num_samples": 2, "max_depth": 2},
        {
            "num_samples": POSITIVE_INT_BAD,
            "max_depth": POSITIVE_INT_BAD,
            "max_args": POSITIVE_INT_BAD + [1],
            "operator_probability": FLOAT_BAD + [-0.1, 1.1],
        },
    ),
}
for _, _, _bad in GENERATORS.values():
    _bad.setdefault("seed", SEED_BAD)


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_invalid_arguments_raise_a_value_error_naming_them(generator):
    function, valid, bad = GENERATORS[generator]
    for argument, values in bad.items():
        for value in values:
            with pytest.raises(ValueError, match=rf"Argument `{argument}`"):
                function(**{**valid, argument: value})
