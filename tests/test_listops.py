"""The ListOps generator."""

import numpy as np
import pytest

from toolkit.data import listops
from toolkit.data.listops import (
    OPERATORS,
    encode_sequences,
    evaluate_listops,
)


def depth(expression):
    level = deepest = 0
    for token in expression.split():
        if token in OPERATORS:
            level += 1
            deepest = max(deepest, level)
        elif token == "]":
            level -= 1
    return deepest


def test_known_values():
    assert evaluate_listops("[MAX 2 9 [MIN 4 7 ] 0 ]") == 9
    assert evaluate_listops("[MED 3 1 8 6 ]") == 4  # median 4.5 -> 4
    assert evaluate_listops("[SM 5 6 [MAX 1 9 ] ]") == 0  # 20 mod 10
    assert evaluate_listops("[MIN [MED 9 9 1 ] [SM 3 4 ] ]") == 7
    with pytest.raises(ValueError, match="Argument `expression`"):
        evaluate_listops("[MAX 1 2")


def test_labels_trees_and_limits():
    expressions, trees, labels = listops(
        300, max_depth=4, max_args=3, operator_probability=0.5, seed=0
    )
    assert labels.dtype == np.int32 and labels.shape == (300,)
    assert max(depth(e) for e in expressions) == 4
    assert [evaluate_listops(e) for e in expressions] == labels.tolist()
    for expression, tree, label in zip(expressions, trees, labels):
        assert tree.label == label
        assert tree.leaves() == [t for t in expression.split() if t != "]"]
        for node in tree.nodes():
            if not node.is_leaf:
                assert 3 <= len(node.children) <= 4  # operator + 2-3 args
                assert node.children[0].token in OPERATORS
    assert len(set(labels.tolist())) == 10


def test_seeded():
    a = listops(20, seed=3)
    b = listops(20, seed=3)
    assert a[0] == b[0] and np.array_equal(a[2], b[2])
    assert a[0] != listops(20, seed=4)[0]


def test_flat_depth_one():
    expressions, _, _ = listops(50, max_depth=1, seed=0)
    assert all(depth(e) == 1 for e in expressions)


def test_encode_sequences():
    ids = encode_sequences(["[MAX 2 9 ]", "[SM 1 ]"])
    assert ids.shape == (2, 4)
    assert ids[1, 3] == 0 and ids[0, 0] == ids[0, 0] > 0
    assert len(set(ids[0].tolist())) == 4
    with pytest.raises(ValueError, match="Argument `max_length`"):
        encode_sequences(["[MAX 2 9 ]"], max_length=2)
    with pytest.raises(ValueError, match="unknown token 'x'"):
        encode_sequences(["[MAX x 9 ]"])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_samples": 0}, "num_samples"),
        ({"max_depth": 0}, "max_depth"),
        ({"max_args": 1}, "max_args"),
        ({"operator_probability": 1.5}, "operator_probability"),
        ({"seed": -1}, "seed"),
    ],
)
def test_errors(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument `{name}`"):
        listops(**{"num_samples": 5, **kwargs})


def _recursive_generate(rng, depth, max_depth, max_args, probability):
    """The generator's definition, recursive (the reference)."""
    operator = OPERATORS[rng.integers(len(OPERATORS))]
    count = int(rng.integers(2, max_args + 1))
    tokens, values = [operator], []
    for _ in range(count):
        if depth < max_depth and rng.random() < probability:
            sub, value = _recursive_generate(
                rng, depth + 1, max_depth, max_args, probability
            )
            tokens.extend(sub)
        else:
            value = int(rng.integers(10))
            tokens.append(str(value))
        values.append(value)
    tokens.append("]")
    return tokens, evaluate_listops(" ".join(tokens))


@pytest.mark.parametrize(
    "max_depth, max_args, probability", [(6, 5, 0.25), (3, 3, 0.6), (1, 4, 1)]
)
def test_iterative_generator_draws_as_the_recursive_one(
    max_depth, max_args, probability
):
    expressions, trees, labels = listops(
        30,
        max_depth=max_depth,
        max_args=max_args,
        operator_probability=probability,
        seed=5,
    )
    rng = np.random.default_rng(5)
    for expression, tree, label in zip(expressions, trees, labels):
        tokens, value = _recursive_generate(
            rng, 1, max_depth, max_args, probability
        )
        assert expression == " ".join(tokens)
        assert label == value
        assert [t for t in tree.leaves()] == [t for t in tokens if t != "]"]


class _ChainRng:
    """Draws that nest the first argument of every operator and end every
    other with a digit: a chain as deep as `max_depth` allows."""

    def __init__(self):
        self._nest = True

    def integers(self, low, high=None):
        return 2 if high is not None else 0  # 2 arguments; MAX; digit 0

    def random(self):
        self._nest = not self._nest
        return 0.0 if not self._nest else 1.0


def test_generator_reaches_depth_5000():
    from toolkit.data.listops import _generate

    tokens, value, tree = _generate(_ChainRng(), 5000, 2, 0.5)
    expression = " ".join(tokens)
    assert depth(expression) == 5000
    assert value == evaluate_listops(expression) == 0
    assert tree.height() == 5000
    assert len(tree.leaves()) == 2 * 5000 + 1  # operators and digits


def test_max_depth_2000_runs():
    expressions, trees, labels = listops(
        20, max_depth=2000, max_args=2, operator_probability=0.5, seed=0
    )
    assert [evaluate_listops(e) for e in expressions] == labels.tolist()
    assert [t.height() for t in trees] == [depth(e) for e in expressions]
