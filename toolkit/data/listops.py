"""ListOps: nested list operations over digits (Nangia & Bowman 2018).

An expression nests four operators over the digits 0-9,

    [MAX 2 9 [MIN 4 7 ] 0 ]      -> 9

`MAX` and `MIN`, `MED` (the median, rounded down) and `SM` (the sum
modulo 10); the label is the value of the whole expression, a digit. The
task needs the tree structure: a model must evaluate the inner lists before
the outer ones.

Reference: N. Nangia and S. R. Bowman, "ListOps: A Diagnostic Dataset for
Latent Tree Learning", NAACL Student Research Workshop, 2018.
"""

import numpy as np

from toolkit import validation as v
from toolkit.data.trees import Tree

OPERATORS = ("[MAX", "[MIN", "[MED", "[SM")
CLOSE = "]"
#: Every token of a ListOps expression: digits, operators, the bracket.
TOKENS = tuple(str(d) for d in range(10)) + OPERATORS + (CLOSE,)


def _apply(operator, values):
    if operator == "[MAX":
        return max(values)
    if operator == "[MIN":
        return min(values)
    if operator == "[MED":
        return int(np.floor(np.median(values)))
    return sum(values) % 10


def _generate(rng, max_depth, max_args, operator_probability):
    """A random expression: (tokens, value, tree).

    An explicit stack of open operators instead of recursion, so that any
    `max_depth` works; the draws come in the order of a depth-first
    recursion (operator, argument count, then each argument in turn).
    """
    tokens = []

    def open_operator():
        operator = OPERATORS[rng.integers(len(OPERATORS))]
        count = int(rng.integers(2, max_args + 1))
        tokens.append(operator)
        # [operator, arguments left, values, children]
        return [operator, count, [], [Tree(None, token=operator)]]

    stack = [open_operator()]
    while True:
        frame = stack[-1]
        if frame[1]:
            frame[1] -= 1
            depth = len(stack)
            if depth < max_depth and rng.random() < operator_probability:
                stack.append(open_operator())
                continue
            value = int(rng.integers(10))
            tokens.append(str(value))
            frame[2].append(value)
            frame[3].append(Tree(value, token=str(value)))
            continue
        operator, _, values, children = stack.pop()
        tokens.append(CLOSE)
        value = _apply(operator, values)
        tree = Tree(value, children)
        if not stack:
            return tokens, value, tree
        stack[-1][2].append(value)
        stack[-1][3].append(tree)


def listops(
    num_samples,
    max_depth=6,
    max_args=5,
    operator_probability=0.25,
    seed=None,
):
    """Generate ListOps expressions, their trees and their values.

    The root is always an operator with 2 to `max_args` arguments (uniform);
    each argument is itself an operator, with probability
    `operator_probability` while the depth is below `max_depth`, else a
    digit drawn uniformly from 0-9.

    Args:
        num_samples: int, number of expressions.
        max_depth: int, the deepest operator nesting (1: a flat list).
            Default: 6.
        max_args: int >= 2, the largest number of arguments of an
            operator. Default: 5.
        operator_probability: float in [0, 1], chance that an argument is
            a nested operator. Default: 0.25.
        seed: int or None, seeds NumPy's generator (same seed, same data).

    Returns:
        `(expressions, trees, labels)`: a list of str (tokens separated by
        spaces), a list of n-ary `Tree` (an operator node's first child is
        its operator token; every operator node and digit carries its value
        as label; the closing bracket is not a node) and an int32 array
        `(num_samples,)` of the values.

    Example:

    ```python
    from toolkit.data import listops

    expressions, trees, labels = listops(1000, max_depth=6, seed=0)
    expressions[0], labels[0]
    ```
    """
    num_samples = v.check_positive_int("num_samples", num_samples)
    max_depth = v.check_positive_int("max_depth", max_depth)
    max_args = v.check_positive_int("max_args", max_args)
    if max_args < 2:
        raise ValueError(
            "Argument `max_args` must be an integer >= 2. "
            f"Received: max_args={max_args}"
        )
    operator_probability = v.check_in_range(
        "operator_probability", operator_probability, 0.0, 1.0
    )
    seed = v.check_seed(seed)
    rng = np.random.default_rng(seed)
    expressions, trees, labels = [], [], []
    for _ in range(num_samples):
        tokens, value, tree = _generate(
            rng, max_depth, max_args, operator_probability
        )
        expressions.append(" ".join(tokens))
        trees.append(tree)
        labels.append(value)
    return expressions, trees, np.asarray(labels, np.int32)


def evaluate_listops(expression):
    """The value of a ListOps expression string, computed with a stack
    (an independent check of the generator's labels)."""
    stack = []
    for token in expression.split():
        if token in OPERATORS:
            stack.append([token])
        elif token == CLOSE:
            operator, *values = stack.pop()
            value = _apply(operator, values)
            if not stack:
                return value
            stack[-1].append(value)
        else:
            stack[-1].append(int(token))
    raise ValueError(
        "Argument `expression` must be a complete ListOps expression. "
        f"Received: expression={expression!r}"
    )


def encode_sequences(expressions, max_length=None):
    """Token ids `(num_samples, max_length)` of the flat expressions for a
    sequence model (0 is padding, ids follow `TOKENS` from 1)."""
    ids = {t: i + 1 for i, t in enumerate(TOKENS)}
    split = [e.split() for e in expressions]
    longest = max(len(s) for s in split)
    if max_length is None:
        max_length = longest
    max_length = v.check_positive_int("max_length", max_length)
    if longest > max_length:
        raise ValueError(
            f"Argument `max_length` must be at least the longest expression "
            f"({longest} tokens). Received: max_length={max_length}"
        )
    out = np.zeros((len(split), max_length), np.int32)
    for i, tokens in enumerate(split):
        try:
            out[i, : len(tokens)] = [ids[t] for t in tokens]
        except KeyError as error:
            raise ValueError(
                f"Argument `expressions` holds an unknown token "
                f"{error.args[0]!r} in expression {i}; allowed: {TOKENS}."
            ) from None
    return out
