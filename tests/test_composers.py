"""Tree composers: checked against a plain recursive NumPy evaluation."""

import inspect

import keras
import numpy as np
import pytest

from tests.helpers import (
    assert_config_round_trip,
    assert_fit_step_changes_weights,
    assert_saves_and_loads,
    count_params,
    randomize_weights,
)
from toolkit.data import Tree, Vocabulary, binarize, encode_trees, listops
from toolkit.layers import RecursiveComposer, RNTNComposer, TreeLSTMComposer

UNITS = 5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------- NumPy references
def rnn_node(layer, children):
    w = layer.kernel.numpy()
    b = layer.bias.numpy()
    c = np.concatenate(children)
    return np.tanh(c @ w + b)


def rntn_node(layer, children):
    c = np.concatenate(children)
    v = layer.tensor_kernel.numpy()
    tensor = np.array([c @ v[:, :, k] @ c for k in range(layer.units)])
    return np.tanh(tensor + c @ layer.kernel.numpy() + layer.bias.numpy())


def lstm_gates(layer, z):
    u = layer.units
    return sigmoid(z[:u]), sigmoid(z[u : 2 * u]), np.tanh(z[2 * u :])


def tree_lstm_leaf(layer, x):
    i, o, g = lstm_gates(layer, x @ layer.kernel.numpy() + layer.bias.numpy())
    c = i * g
    return o * np.tanh(c), c


def tree_lstm_node(layer, children, arity):
    """Tai et al. (2015), one node, children as (h, c) pairs."""
    u = layer.units
    hs = [h for h, _ in children]
    cs = [c for _, c in children]
    uk = layer.recurrent_kernel.numpy()
    fk = layer.forget_kernel.numpy()
    bf = layer.forget_bias.numpy()
    if layer.variant == "n_ary":
        hs_all = hs + [np.zeros(u)] * (arity - len(hs))
        flat = np.concatenate(hs_all)
        z = flat @ uk + layer.bias.numpy()
        forget = [
            sigmoid(flat @ fk[:, k * u : (k + 1) * u] + bf)
            for k in range(len(hs))
        ]
    else:
        z = np.sum(hs, axis=0) @ uk + layer.bias.numpy()
        forget = [sigmoid(h @ fk + bf) for h in hs]
    i, o, g = lstm_gates(layer, z)
    c = i * g + sum(f * ck for f, ck in zip(forget, cs))
    return o * np.tanh(c), c


def evaluate(layer, tree, table, vocab, arity):
    """Plain recursion: returns the node outputs in post-order (the root
    last) and the root's state."""
    outputs = []

    def visit(node):
        if node.is_leaf:
            x = table[vocab.lookup(node.token)]
            if isinstance(layer, TreeLSTMComposer):
                state = tree_lstm_leaf(layer, x)
            else:
                state = x
        else:
            kids = [visit(child) for child in node.children]
            if isinstance(layer, RNTNComposer):
                state = rntn_node(layer, kids)
            elif isinstance(layer, RecursiveComposer):
                state = rnn_node(layer, kids)
            else:
                state = tree_lstm_node(layer, kids, arity)
        outputs.append(state[0] if isinstance(state, tuple) else state)
        return state

    visit(tree)
    return np.stack(outputs)


# ---------------------------------------------------------- fixtures
def make_batch(binary=True, count=6, seed=3):
    _, trees, _ = listops(count, max_depth=3, max_args=4, seed=seed)
    if binary:
        trees = [
            binarize(t, factor)
            for t, factor in zip(trees, ["left", "right"] * count)
        ]
    vocab = Vocabulary.from_trees(trees)
    batch = encode_trees(trees, vocab, max_nodes=None)
    return trees, vocab, batch


COMPOSERS = {
    "rnn": (lambda: RecursiveComposer(UNITS), True),
    "rntn": (lambda: RNTNComposer(UNITS), True),
    "tree_lstm": (lambda: TreeLSTMComposer(UNITS), True),
    "tree_lstm_nary3": (lambda: TreeLSTMComposer(UNITS), False),
    "child_sum": (lambda: TreeLSTMComposer(UNITS, variant="child_sum"), False),
}


def run(layer, batch, table):
    inputs = table[batch["tokens"]].astype("float32")
    roots, nodes = layer(inputs, batch["children"], batch["heights"])
    return np.asarray(roots), np.asarray(nodes)


@pytest.mark.parametrize("name", sorted(COMPOSERS))
def test_matches_numpy_recursion(name):
    factory, binary = COMPOSERS[name]
    trees, vocab, batch = make_batch(binary=binary)
    arity = batch["children"].shape[-1]
    table = 0.5 * np.random.default_rng(0).normal(size=(len(vocab), UNITS))
    layer = factory()
    run(layer, batch, table)
    randomize_weights(layer, scale=0.3, seed=1)
    roots, nodes = run(layer, batch, table)
    for b, tree in enumerate(trees):
        expected = evaluate(layer, tree, table, vocab, arity)
        count = len(expected)
        np.testing.assert_allclose(nodes[b, :count], expected, atol=1e-5)
        np.testing.assert_allclose(roots[b], expected[-1], atol=1e-5)
        np.testing.assert_array_equal(nodes[b, count:], 0.0)


@pytest.mark.parametrize("name", sorted(COMPOSERS))
def test_dynamic_batching_equals_per_node_recursion(name):
    factory, binary = COMPOSERS[name]
    _, vocab, batch = make_batch(binary=binary, count=8, seed=5)
    table = np.random.default_rng(1).normal(size=(len(vocab), UNITS))
    batched = factory()
    run(batched, batch, table)
    randomize_weights(batched, seed=2)
    per_node = type(batched).from_config(
        {**batched.get_config(), "dynamic_batching": False}
    )
    run(per_node, batch, table)
    per_node.set_weights(batched.get_weights())
    for got, expected in zip(
        run(batched, batch, table), run(per_node, batch, table)
    ):
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    "name, dynamic_batching",
    [("rnn", False), ("tree_lstm_nary3", True), ("child_sum", True)],
)
def test_tensorflow_loop_equals_portable_loop(name, dynamic_batching):
    """The TensorFlow shrinking-buffer loop and the portable `keras.ops`
    loop give the same nodes and the same gradients (single-leaf trees and
    padding included)."""
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow loop runs on the TensorFlow backend")
    factory, binary = COMPOSERS[name]
    _, vocab, batch = make_batch(binary=binary, count=5, seed=7)
    arity = batch["children"].shape[-1]
    leaf = encode_trees(
        [Tree(None, token="1")], vocab, batch["heights"].shape[1], arity
    )
    batch = {k: np.concatenate([batch[k], leaf[k]]) for k in leaf}
    table = np.random.default_rng(3).normal(size=(len(vocab), UNITS))
    inputs = tf.constant(table[batch["tokens"]].astype("float32"))
    results = []
    for tensorflow_loop in (True, False):
        layer = factory()
        layer.dynamic_batching = dynamic_batching
        layer._tensorflow_loop = tensorflow_loop
        layer(inputs, batch["children"], batch["heights"])
        randomize_weights(layer, scale=0.4, seed=4)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            roots, nodes = layer(inputs, batch["children"], batch["heights"])
            loss = tf.reduce_sum(nodes**2) + tf.reduce_sum(roots)
        grads = tape.gradient(loss, [inputs, *layer.trainable_weights])
        results.append([roots, nodes, *grads])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_tree_does_not_depend_on_its_batch():
    _, vocab, batch = make_batch(count=5)
    table = np.random.default_rng(2).normal(size=(len(vocab), UNITS))
    layer = TreeLSTMComposer(UNITS)
    roots, _ = run(layer, batch, table)
    alone = {k: batch[k][2:3] for k in ("tokens", "children", "heights")}
    root, _ = run(layer, alone, table)
    np.testing.assert_allclose(root[0], roots[2], atol=1e-6)


def test_single_leaf_tree():
    layer = RecursiveComposer(UNITS)
    inputs = np.ones((1, 2, UNITS), "float32")
    roots, _ = layer(inputs, np.full((1, 2, 2), -1), np.array([[0, -1]]))
    np.testing.assert_allclose(roots, inputs[:, 0])


# ------------------------------------------------ Keras contract
def tree_model(layer, vocab_size, arity, node_level=False):
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    children = keras.Input((None, arity), dtype="int32", name="children")
    heights = keras.Input((None,), dtype="int32", name="heights")
    x = keras.layers.Embedding(vocab_size, UNITS, name="embedding")(tokens)
    roots, nodes = layer(x, children, heights)
    head = keras.layers.Dense(10, activation="softmax", name="head")
    output = head(nodes if node_level else roots)
    return keras.Model([tokens, children, heights], output)


@pytest.mark.parametrize("name", ["rnn", "rntn", "tree_lstm", "child_sum"])
def test_config_save_load_and_fit(name, tmp_path):
    factory, binary = COMPOSERS[name]
    _, vocab, batch = make_batch(binary=binary)
    layer = factory()
    assert_config_round_trip(layer)
    model = tree_model(layer, len(vocab), batch["children"].shape[-1])
    x = [batch["tokens"], batch["children"], batch["heights"]]
    assert_saves_and_loads(model, x, tmp_path)
    model.compile("adam", "sparse_categorical_crossentropy")
    assert_fit_step_changes_weights(model, x, batch["root_labels"])


def test_node_level_head_fits():
    _, vocab, batch = make_batch()
    model = tree_model(RNTNComposer(UNITS), len(vocab), 2, node_level=True)
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    )
    x = [batch["tokens"], batch["children"], batch["heights"]]
    assert model.predict(x, verbose=0).shape == (*batch["heights"].shape, 10)
    assert_fit_step_changes_weights(model, x, batch["labels"])


def test_weight_counts():
    u, d = UNITS, 3
    shapes = ((2, 4, d), (2, 4, 2), (2, 4))

    def built(layer, arity=2):
        layer.build(shapes[0], (2, 4, arity), shapes[2])
        return count_params(layer)

    assert built(RecursiveComposer(d)) == 2 * d * d + d
    assert built(RNTNComposer(d)) == 2 * d * d + d + 4 * d * d * d
    assert built(TreeLSTMComposer(u), 3) == (
        d * 3 * u + 3 * u * 3 * u + 3 * u * 3 * u + 3 * u + u
    )
    assert built(TreeLSTMComposer(u, variant="child_sum"), 3) == (
        d * 3 * u + u * 3 * u + u * u + 3 * u + u
    )


@pytest.mark.parametrize(
    "composer_class", [RecursiveComposer, RNTNComposer, TreeLSTMComposer]
)
def test_signature_and_config_cover_every_argument(composer_class):
    params = inspect.signature(composer_class).parameters
    assert list(params)[-1] == "kwargs"
    config = composer_class(4).get_config()
    assert set(params) - {"kwargs"} <= set(config)
    if composer_class is RNTNComposer:  # every RecursiveComposer argument
        assert set(inspect.signature(RecursiveComposer).parameters) <= set(
            params
        )


# ------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: RecursiveComposer(0), "Argument `units`"),
        (
            lambda: TreeLSTMComposer(4, variant="dependency"),
            "Argument `variant`",
        ),
        (
            lambda: RecursiveComposer(4, activation="no-such"),
            "Argument `activation`",
        ),
        (
            lambda: RNTNComposer(4, tensor_initializer="no-such"),
            "Argument `tensor_initializer`",
        ),
        (
            lambda: RecursiveComposer(4).build((1, 3, 5), (1, 3, 2), (1, 3)),
            "must equal `units`",
        ),
        (
            lambda: RNTNComposer(4).build((1, 3, 4), (1, 3, 3), (1, 3)),
            "children.*must be 2",
        ),
        (
            lambda: TreeLSTMComposer(4).build((1, 3, 4), (1, 3, None), (1, 3)),
            "children.*must be defined",
        ),
        (
            lambda: TreeLSTMComposer(4).build((1, 3, None), (1, 3, 2), (1, 3)),
            "`inputs`.*must be defined",
        ),
    ],
    ids=[
        "units",
        "variant",
        "activation",
        "tensor_initializer",
        "leaf_inputs",
        "rntn_arity",
        "undefined_arity",
        "undefined_features",
    ],
)
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
