"""Trees as data: parsing, binarisation, vocabulary, encoding."""

import numpy as np
import pytest
import tensorflow as tf

from toolkit.data import (
    Tree,
    TreeParseError,
    Vocabulary,
    balanced_tree,
    binarize,
    decode_trees,
    encode_trees,
    load_treebank,
    parse_tree,
    read_trees,
    sentiment_treebank_sample,
    tree_dataset,
)
from toolkit.data.trees import height_schedule

EXAMPLE = "(3 (2 It) (4 (2 's) (3 (2 very) (3 good))))"


def leaf(token, label=None):
    return Tree(label, token=token)


def test_parse_example():
    tree = parse_tree(EXAMPLE)
    assert tree.label == 3
    assert tree.leaves() == ["It", "'s", "very", "good"]
    assert tree.children[1].children[1] == Tree(
        3, [leaf("very", 2), leaf("good", 3)]
    )
    assert [n.label for n in tree.nodes()] == [2, 2, 2, 3, 3, 4, 3]
    assert tree.height() == 3 and len(tree) == 7
    assert str(tree) == EXAMPLE
    assert parse_tree(str(tree)) == tree


@pytest.mark.parametrize(
    "text, message, column",
    [
        ("(3 (2 It) (4 (2 's)", "unbalanced '\\(': missing '\\)'", 10),
        ("(3 (2 It)))", "unbalanced '\\)'", 10),
        ("(3 (2 It)) (2 a)", "text after the end", 11),
        ("(3 (2) (2 a))", "no children and no token", 3),
        ("(pos (2 a))", "'pos' is not an integer", 1),
        ("(2 a b)", "unexpected token 'b'", 5),
        ("(2 a (2 b))", "either one token or bracketed children", 5),
        ("2 a", "expected '\\('", 0),
        ("( (2 a))", "expected an integer label", 0),
        ("   ", "empty line", 0),
    ],
)
def test_parse_errors_quote_line_and_position(text, message, column):
    with pytest.raises(TreeParseError, match=message) as info:
        parse_tree(text, line_number=7)
    lines = str(info.value).splitlines()
    assert f"line 7, position {column}" in lines[0]
    assert lines[1] == "    " + text
    assert lines[2] == "    " + " " * column + "^"


def test_read_trees_numbers_lines(tmp_path):
    assert len(read_trees([EXAMPLE, "", EXAMPLE])) == 2
    path = tmp_path / "train.txt"
    path.write_text(EXAMPLE + "\n\n(2 (2 a)\n")
    with pytest.raises(TreeParseError, match="line 3, position 0"):
        load_treebank(path)
    with pytest.raises(FileNotFoundError, match="Argument `path`"):
        load_treebank(tmp_path / "missing.txt")


def test_shipped_sample():
    trees = sentiment_treebank_sample()
    assert len(trees) >= 10
    for tree in trees:
        assert all(0 <= n.label <= 4 for n in tree.nodes())
        assert all(len(n.children) in (0, 2) for n in tree.nodes())


def test_binarize_left_and_right():
    a, b, c, d = (leaf(t) for t in "abcd")
    tree = Tree(1, [a, b, c, d])
    assert binarize(tree, "left") == Tree(
        1, [Tree(None, [Tree(None, [a, b]), c]), d]
    )
    assert binarize(tree, "right") == Tree(
        1, [a, Tree(None, [b, Tree(None, [c, d])])]
    )
    # a unary chain collapses, keeping the upper label
    unary = Tree(4, [Tree(2, [Tree(1, [a, b])])])
    assert binarize(unary) == Tree(4, [a, b])
    assert binarize(Tree(3, [leaf("x", 2)])) == leaf("x", 3)
    with pytest.raises(ValueError, match="Argument `factor`"):
        binarize(tree, "middle")


@pytest.mark.parametrize("length", [1, 2, 3, 7, 8, 9, 100])
def test_balanced_tree(length):
    tokens = [f"t{i}" for i in range(length)]
    tree = balanced_tree(tokens, label=1)
    assert tree.leaves() == tokens
    assert tree.height() == int(np.ceil(np.log2(length)))
    assert all(len(n.children) in (0, 2) for n in tree.nodes())
    with pytest.raises(ValueError, match="Argument `tokens`"):
        balanced_tree([])


def test_vocabulary():
    vocab = Vocabulary(["b", "a", "b", "c", "B"], min_count=2, lowercase=True)
    assert vocab.tokens == ["[PAD]", "[UNK]", "b"]
    assert vocab.lookup("B") == 2 and vocab.lookup("a") == 1
    assert len(Vocabulary("abcabd", max_size=3)) == 3
    with pytest.raises(ValueError, match="Argument `min_count`"):
        Vocabulary([], min_count=0)
    with pytest.raises(ValueError, match="Argument `max_size` must be at"):
        Vocabulary([], max_size=1)


def test_encode_by_hand():
    tree = parse_tree("(1 (2 a) (3 (4 b) (0 c)))")
    vocab = Vocabulary(["a", "b"])
    batch = encode_trees([tree, parse_tree("(4 b)")], vocab, max_nodes=6)
    # post-order: a, b, c, (b c), root
    np.testing.assert_array_equal(
        batch["tokens"],
        [
            [vocab.lookup("a"), vocab.lookup("b"), 1, 0, 0, 0],
            [vocab.lookup("b"), 0, 0, 0, 0, 0],
        ],
    )
    np.testing.assert_array_equal(
        batch["children"][0, :5], [[-1, -1]] * 3 + [[1, 2], [0, 3]]
    )
    np.testing.assert_array_equal(batch["children"][0, 5:], -1)
    np.testing.assert_array_equal(
        batch["heights"], [[0, 0, 0, 1, 2, -1], [0, -1, -1, -1, -1, -1]]
    )
    np.testing.assert_array_equal(batch["labels"][0], [2, 4, 0, 3, 1, -1])
    np.testing.assert_array_equal(batch["root_labels"], [1, 4])
    np.testing.assert_array_equal(batch["node_weights"][1], [1, 0, 0, 0, 0, 0])
    schedule = height_schedule(batch["heights"])
    assert [s.tolist() for s in schedule] == [[3], [4]]


def test_encode_errors():
    tree = parse_tree(EXAMPLE)
    vocab = Vocabulary.from_trees([tree])
    with pytest.raises(ValueError, match="Argument `max_nodes` must be at"):
        encode_trees([tree], vocab, max_nodes=3)
    with pytest.raises(ValueError, match="Argument `max_children` must be"):
        encode_trees(
            [Tree(1, [leaf("a"), leaf("b"), leaf("c")])], vocab, max_children=2
        )
    with pytest.raises(ValueError, match="Argument `trees`"):
        encode_trees([], vocab)


def test_decode_round_trip_and_predictions():
    trees = sentiment_treebank_sample()
    vocab = Vocabulary.from_trees(trees[:8])
    batch = encode_trees(trees, vocab)
    decoded = decode_trees(batch, vocab)
    for tree, back in zip(trees, decoded):
        expected = [
            t if vocab.lookup(t) > 1 else "[UNK]" for t in tree.leaves()
        ]
        assert back.leaves() == expected
        assert [n.label for n in back.nodes()] == [
            n.label for n in tree.nodes()
        ]
    predicted = np.where(batch["heights"] >= 0, 7, -1)
    relabelled = decode_trees(batch, vocab, node_labels=predicted)
    assert {n.label for t in relabelled for n in t.nodes()} == {7}


def test_schedule_groups_every_internal_node_after_its_children():
    trees = sentiment_treebank_sample()
    batch = encode_trees(trees, Vocabulary.from_trees(trees))
    n = batch["heights"].shape[1]
    done = set(np.flatnonzero(batch["heights"].reshape(-1) == 0))
    for rows in height_schedule(batch["heights"]):
        for row in rows:
            kids = batch["children"][row // n, row % n]
            assert all(row // n * n + k in done for k in kids if k >= 0)
        done.update(rows)
    assert len(done) == int(np.sum(batch["heights"] >= 0))


def test_encoded_arrays_feed_tf_data():
    trees = sentiment_treebank_sample()
    batch = encode_trees(trees, Vocabulary.from_trees(trees))
    inputs = {k: batch[k] for k in ("tokens", "children", "heights")}
    data = tf.data.Dataset.from_tensor_slices((inputs, batch["root_labels"]))
    first = next(iter(data.batch(5)))
    assert first[0]["children"].shape == (5, *batch["children"].shape[1:])


@pytest.mark.parametrize(
    "options, match",
    [
        ({"batch_size": 0}, "`batch_size` must be a positive"),
        ({"shuffle": True, "seed": -1}, "`seed` must be None or an int"),
    ],
)
def test_tree_dataset_errors(options, match):
    trees = sentiment_treebank_sample()
    batch = encode_trees(trees, Vocabulary.from_trees(trees))
    with pytest.raises(ValueError, match=match):
        tree_dataset(batch, batch["root_labels"], **options)


# Deep trees: the helpers are iterative; the recursive definitions below
# are the reference on small trees.
DEEP = 5000


def _recursive_leaves(tree):
    if tree.is_leaf:
        return [tree.token]
    return [t for c in tree.children for t in _recursive_leaves(c)]


def _recursive_height(tree):
    if tree.is_leaf:
        return 0
    return 1 + max(_recursive_height(c) for c in tree.children)


def _recursive_str(tree):
    label = "" if tree.label is None else f"{tree.label} "
    if tree.is_leaf:
        return f"({label}{tree.token})"
    return (
        f"({label}" + " ".join(_recursive_str(c) for c in tree.children) + ")"
    )


def _recursive_binarize(tree, factor):
    if tree.is_leaf:
        return Tree(tree.label, token=tree.token)
    kids = [_recursive_binarize(c, factor) for c in tree.children]
    if len(kids) == 1:
        label = tree.label if tree.label is not None else kids[0].label
        return Tree(label, kids[0].children, kids[0].token)
    if factor == "left":
        node = kids[0]
        for kid in kids[1:-1]:
            node = Tree(None, [node, kid])
        return Tree(tree.label, [node, kids[-1]])
    node = kids[-1]
    for kid in reversed(kids[1:-1]):
        node = Tree(None, [kid, node])
    return Tree(tree.label, [kids[0], node])


def _same_structure(a, b):
    return _recursive_str(a) == _recursive_str(b) and (
        [n.label for n in a.nodes()] == [n.label for n in b.nodes()]
    )


def _small_trees():
    from toolkit.data import listops

    trees = list(sentiment_treebank_sample()) + list(
        listops(20, max_depth=4, seed=0)[1]
    )
    trees.append(parse_tree("(1 (2 (3 (4 a))) (0 b) (2 (1 c) (1 d) (1 e)))"))
    return trees


def test_iterative_helpers_match_recursive_definitions():
    for tree in _small_trees():
        assert tree.leaves() == _recursive_leaves(tree)
        assert tree.height() == _recursive_height(tree)
        assert str(tree) == _recursive_str(tree)
        for factor in ("left", "right"):
            ours = binarize(tree, factor)
            assert _same_structure(ours, _recursive_binarize(tree, factor))
            assert ours == _recursive_binarize(tree, factor)
        if all(n.label is not None for n in tree.nodes()):
            assert tree == parse_tree(str(tree))
        assert tree != binarize(parse_tree("(1 (2 a) (2 b) (2 c))"))


def test_equality_compares_labels_tokens_and_shapes():
    base = parse_tree("(1 (2 a) (3 b))")
    assert base == parse_tree("(1 (2 a) (3 b))")
    assert base != parse_tree("(1 (2 a) (4 b))")
    assert base != parse_tree("(1 (2 a) (3 c))")
    assert base != parse_tree("(1 (2 a) (3 b) (3 b))")
    assert base != "(1 (2 a) (3 b))"


def _chain(depth):
    """A tree of `depth` nested unary-free nodes: (0 (0 ... (1 x) y) y)."""
    node = Tree(1, token="x")
    for _ in range(depth):
        node = Tree(0, [node, Tree(2, token="y")])
    return node


def test_helpers_work_at_depth_5000():
    tree = _chain(DEEP)
    assert tree.height() == DEEP
    assert tree.leaves() == ["x"] + ["y"] * DEEP
    text = str(tree)
    assert text.startswith("(0 " * 3) and text.count("(") == 2 * DEEP + 1
    assert parse_tree(text) == tree
    assert repr(tree).startswith("Tree((0 (0 ")
    assert binarize(tree) == tree  # already binary
    vocab = Vocabulary.from_trees([tree])
    assert vocab.tokens == ["[PAD]", "[UNK]", "y", "x"]
    encoded = encode_trees([tree], vocab)
    assert encoded["heights"].max() == DEEP
    assert decode_trees(encoded, vocab)[0] == tree


@pytest.mark.parametrize("factor", ["left", "right"])
def test_flat_sentence_of_5000_tokens_binarises_and_encodes(factor):
    words = [f"w{i}" for i in range(DEEP)]
    flat = parse_tree("(1 " + " ".join(f"(2 {w})" for w in words) + ")")
    binary = binarize(flat, factor)
    assert binary.height() == DEEP - 1
    assert binary.leaves() == words
    assert all(len(n.children) in (0, 2) for n in binary.nodes())
    encoded = encode_trees([binary], Vocabulary.from_trees([binary]))
    assert encoded["tokens"].shape == (1, 2 * DEEP - 1)
    assert encoded["heights"].max() == DEEP - 1
    # left factoring nests to the left: the root's right child is the last
    # word; right factoring mirrors it
    inner, outer = (
        binary.children if factor == "left" else binary.children[::-1]
    )
    assert outer.token == (words[-1] if factor == "left" else words[0])
    assert inner.height() == DEEP - 2
