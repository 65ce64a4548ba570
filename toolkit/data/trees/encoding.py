"""Trees to the flat, padded arrays the composers read, batching, and back.

Each tree becomes `max_nodes` rows, its nodes in post-order (children
before their parent, the root last), padded after:

- `tokens[b, n]`: the token id of leaf `n`, 0 for internal nodes and
  padding;
- `children[b, n, k]`: the row of the `k`-th child of node `n` in the same
  tree, -1 where there is none;
- `heights[b, n]`: 0 for a leaf, `1 + max(child heights)` for an internal
  node, -1 for padding. This is the schedule: a composer composes all
  nodes of height 1 across the batch at once, then height 2, ...;
- `labels[b, n]`: the node's label, -1 where it has none (and for
  padding); `root_labels[b]` and `node_weights[b, n]` (1 where a label
  exists) come with them.

The arrays are per tree, so `model.fit` can slice any batch size out of
them (NumPy or `tf.data`); the layer merges the batch into one flat node
buffer itself.
"""

import numpy as np

from toolkit import validation as v
from toolkit.data.trees.tree import Tree


def encode_trees(trees, vocabulary, max_nodes=None, max_children=None):
    """Encode trees into flat per-tree arrays padded to `max_nodes` rows.

    Args:
        trees: list of `Tree`.
        vocabulary: a `Vocabulary`.
        max_nodes: int or None, rows per tree (None: the largest tree).
        max_children: int or None, child slots per node (None: the largest
            arity; 2 for binary trees).

    Returns:
        A dict of int32 NumPy arrays: `tokens (B, N)`, `children (B, N, K)`,
        `heights (B, N)`, `labels (B, N)`, `root_labels (B,)`, and float32
        `node_weights (B, N)`. `tree_inputs(encoded)` picks a model's
        inputs.
    """
    if not trees:
        raise ValueError(
            "Argument `trees` must be a non-empty list of `Tree`. "
            f"Received: trees={trees!r}"
        )
    node_lists = [tree.nodes() for tree in trees]
    largest = max(len(nodes) for nodes in node_lists)
    arity = max(len(n.children) for nodes in node_lists for n in nodes)
    if max_nodes is None:
        max_nodes = largest
    max_nodes = v.check_positive_int("max_nodes", max_nodes)
    if largest > max_nodes:
        raise ValueError(
            f"Argument `max_nodes` must be at least the size of the largest "
            f"tree ({largest} nodes). Received: max_nodes={max_nodes}"
        )
    if max_children is None:
        max_children = max(arity, 1)
    max_children = v.check_positive_int("max_children", max_children)
    if arity > max_children:
        raise ValueError(
            f"Argument `max_children` must be at least the largest number "
            f"of children of a node ({arity}). "
            f"Received: max_children={max_children}"
        )
    size = len(trees)
    tokens = np.zeros((size, max_nodes), np.int32)
    children = np.full((size, max_nodes, max_children), -1, np.int32)
    heights = np.full((size, max_nodes), -1, np.int32)
    labels = np.full((size, max_nodes), -1, np.int32)
    for b, nodes in enumerate(node_lists):
        row = {id(node): n for n, node in enumerate(nodes)}
        for n, node in enumerate(nodes):
            if node.is_leaf:
                tokens[b, n] = vocabulary.lookup(node.token)
                heights[b, n] = 0
            else:
                kids = [row[id(c)] for c in node.children]
                children[b, n, : len(kids)] = kids
                heights[b, n] = 1 + max(heights[b, k] for k in kids)
            if node.label is not None:
                labels[b, n] = node.label
    roots = np.array([len(nodes) - 1 for nodes in node_lists])
    return {
        "tokens": tokens,
        "children": children,
        "heights": heights,
        "labels": labels,
        "root_labels": labels[np.arange(size), roots].copy(),
        "node_weights": (labels >= 0).astype(np.float32),
    }


def tree_inputs(encoded):
    """The model inputs of an encoding: the dict of `tokens`, `children`
    and `heights` (the input names of `recipes.build_tree_classifier`)."""
    return {k: encoded[k] for k in ("tokens", "children", "heights")}


def tree_dataset(
    encoded,
    targets,
    batch_size=32,
    shuffle=False,
    seed=None,
    sample_weight=None,
):
    """A `tf.data.Dataset` of `(tree_inputs, targets)` batches, each trimmed
    to its largest tree.

    Nodes are stored in post-order with padding last, so cutting every row
    of a batch after its largest tree's node count loses nothing and spares
    the composer the padding of the data set's largest tree.

    Args:
        encoded: the dict of `encode_trees`.
        targets: array of labels, `(B,)` or `(B, N)` (trimmed too).
        batch_size: int. Default: 32.
        shuffle: bool, reshuffle every epoch. Default: False.
        seed: int or None, the shuffle seed.
        sample_weight: None or an array like `targets` (e.g.
            `encoded["node_weights"]`).
    """
    import tensorflow as tf

    batch_size = v.check_positive_int("batch_size", batch_size)
    seed = v.check_seed(seed)
    parts = [tree_inputs(encoded), np.asarray(targets)]
    if sample_weight is not None:
        parts.append(np.asarray(sample_weight))
    data = tf.data.Dataset.from_tensor_slices(tuple(parts))
    if shuffle:
        data = data.shuffle(
            len(parts[1]), seed=seed, reshuffle_each_iteration=True
        )
    max_nodes = encoded["heights"].shape[1]

    def trim(inputs, *rest):
        size = tf.reduce_max(
            tf.reduce_sum(tf.cast(inputs["heights"] >= 0, tf.int32), 1)
        )
        inputs = {k: x[:, :size] for k, x in inputs.items()}
        rest = [
            x[:, :size] if len(x.shape) == 2 and x.shape[1] == max_nodes else x
            for x in rest
        ]
        return (inputs, *rest)

    return data.batch(batch_size).map(trim).prefetch(tf.data.AUTOTUNE)


def height_schedule(heights):
    """The batch's schedule: for each height `h >= 1`, the flat indices
    `b * N + n` of the nodes of that height, across the whole batch.

    This is what a composer does inside its layer; the NumPy version is
    for inspection and tests. Returns a list, entry `h - 1` for height `h`.
    """
    flat = np.asarray(heights).reshape(-1)
    return [np.flatnonzero(flat == h) for h in range(1, flat.max() + 1)]


def decode_trees(encoded, vocabulary, node_labels=None):
    """Rebuild trees from encoded arrays, optionally with other labels.

    Args:
        encoded: the dict of `encode_trees` (`tokens`, `children`,
            `heights`, `labels`).
        vocabulary: the `Vocabulary` used to encode.
        node_labels: None, or an int array `(B, N)` (e.g. a node-level
            head's `argmax`) whose values become the labels (negative
            values: no label).

    Returns:
        A list of `Tree`, one per row; OOV tokens come back as `"[UNK]"`.
    """
    labels = encoded["labels"] if node_labels is None else node_labels
    labels = np.asarray(labels)
    trees = []
    for b in range(encoded["heights"].shape[0]):
        heights = encoded["heights"][b]
        count = int(np.sum(heights >= 0))
        built = []
        for n in range(count):
            label = int(labels[b, n]) if labels[b, n] >= 0 else None
            if heights[n] == 0:
                token = vocabulary.token(int(encoded["tokens"][b, n]))
                built.append(Tree(label, token=token))
            else:
                kids = [int(k) for k in encoded["children"][b, n] if k >= 0]
                built.append(Tree(label, [built[k] for k in kids]))
        trees.append(built[-1])
    return trees
