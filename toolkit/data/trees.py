"""Trees as data: parsing, binarisation, vocabularies and batch encoding.

A tree in the Penn / Stanford Sentiment Treebank (SST) bracket format has
an integer label on every node and a token on every leaf:

    (3 (2 It) (4 (2 's) (3 (2 very) (3 good))))

`parse_tree` reads one such line into a `Tree`; `binarize` and
`balanced_tree` give the binary trees the binary composers need (a
balanced tree over `T` tokens has height `ceil(log2 T)`, the depth the
notes contrast with the `T` steps of a recurrent net); `Vocabulary` maps
tokens to ids; `encode_trees` turns a list of trees into the flat, padded
arrays the composers of `toolkit.layers.recursive` read, and
`decode_trees` turns arrays (or a model's per-node predictions) back into
trees.

Encoding. Each tree becomes `max_nodes` rows, its nodes in post-order
(children before their parent, the root last), padded after:

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

import collections
import os

import numpy as np

from toolkit import validation as v
from toolkit.data.shipped import shipped_path


class TreeParseError(ValueError):
    """A malformed bracketed tree; the message quotes the line and points
    at the position."""


class Tree:
    """A node of a labelled tree: a leaf holds a `token`, an internal node
    holds `children`.

    Args:
        label: int or None, the node's label (None: unlabelled).
        children: list of `Tree`, empty for a leaf.
        token: str or None, the leaf's token (None for internal nodes).
    """

    __slots__ = ("label", "children", "token")

    def __init__(self, label=None, children=None, token=None):
        self.label = label
        self.children = list(children or [])
        self.token = token

    @property
    def is_leaf(self):
        return not self.children

    def leaves(self):
        """The tokens of the leaves, left to right."""
        if self.is_leaf:
            return [self.token]
        return [t for child in self.children for t in child.leaves()]

    def nodes(self):
        """Every node in post-order (children first, the root last)."""
        out = []
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or node.is_leaf:
                out.append(node)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children))
        return out

    def height(self):
        if self.is_leaf:
            return 0
        return 1 + max(child.height() for child in self.children)

    def __len__(self):
        return len(self.nodes())

    def __eq__(self, other):
        return (
            isinstance(other, Tree)
            and self.label == other.label
            and self.token == other.token
            and self.children == other.children
        )

    def __repr__(self):
        return f"Tree({self})"

    def __str__(self):
        label = "" if self.label is None else f"{self.label} "
        if self.is_leaf:
            return f"({label}{self.token})"
        return f"({label}" + " ".join(str(c) for c in self.children) + ")"


# ------------------------------------------------------------------ parsing
def _parse_error(text, position, message, line_number):
    where = f"line {line_number}, " if line_number is not None else ""
    return TreeParseError(
        f"Malformed tree at {where}position {position}: {message}.\n"
        f"    {text}\n    {' ' * position}^"
    )


def _tokenize(text):
    """Yield `(kind, value, position)` with kind in `(`, `)`, `word`."""
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            yield char, char, i
            i += 1
        else:
            start = i
            while (
                i < len(text) and not text[i].isspace() and text[i] not in "()"
            ):
                i += 1
            yield "word", text[start:i], start


def parse_tree(text, line_number=None):
    """Parse one bracketed tree with an integer label on every node.

    Args:
        text: str, e.g. `"(3 (2 It) (4 (2 's) (3 good)))"`.
        line_number: int or None, quoted in error messages.

    Returns:
        A `Tree`.

    Raises:
        TreeParseError: (a `ValueError`) on unbalanced brackets, a node with
            no children and no token, a label that is not an integer or
            text after the tree; the message quotes the line and marks the
            position.
    """
    text = text.rstrip("\n")
    tokens = list(_tokenize(text))
    if not tokens:
        raise _parse_error(text, 0, "empty line, expected '('", line_number)
    stack = []
    root = None
    index = 0
    while index < len(tokens):
        kind, value, position = tokens[index]
        if root is not None:
            message = (
                "unbalanced ')'"
                if kind == ")"
                else "text after the end of the tree"
            )
            raise _parse_error(text, position, message, line_number)
        if kind == "(":
            if index + 1 >= len(tokens) or tokens[index + 1][0] != "word":
                raise _parse_error(
                    text,
                    position,
                    "expected an integer label after '('",
                    line_number,
                )
            _, label_text, label_position = tokens[index + 1]
            try:
                label = int(label_text)
            except ValueError:
                raise _parse_error(
                    text,
                    label_position,
                    f"the label {label_text!r} is not an integer",
                    line_number,
                ) from None
            node = Tree(label)
            node_position = position
            stack.append((node, node_position))
            index += 2
            continue
        if kind == "word":
            if not stack:
                raise _parse_error(text, position, "expected '('", line_number)
            node, _ = stack[-1]
            if node.children or node.token is not None:
                raise _parse_error(
                    text,
                    position,
                    f"unexpected token {value!r}: a node holds either one "
                    "token or bracketed children",
                    line_number,
                )
            node.token = value
        else:  # ")"
            if not stack:
                raise _parse_error(
                    text, position, "unbalanced ')'", line_number
                )
            node, node_position = stack.pop()
            if node.token is None and not node.children:
                raise _parse_error(
                    text,
                    node_position,
                    "a node with no children and no token",
                    line_number,
                )
            if stack:
                parent = stack[-1][0]
                if parent.token is not None:
                    raise _parse_error(
                        text,
                        node_position,
                        "a node holds either one token or bracketed "
                        "children, not both",
                        line_number,
                    )
                parent.children.append(node)
            else:
                root = node
        index += 1
    if stack:
        raise _parse_error(
            text, stack[-1][1], "unbalanced '(': missing ')'", line_number
        )
    return root


def read_trees(lines):
    """Parse trees from an iterable of lines (e.g. an open file), one tree
    per non-blank line; errors quote the 1-based line number."""
    trees = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            trees.append(parse_tree(line, line_number=number))
    return trees


def load_treebank(path):
    """Read a Stanford Sentiment Treebank file (`train.txt`, `dev.txt`,
    `test.txt` of `trainDevTestTrees_PTB.zip`), one tree per line.

    Args:
        path: str or path-like, the file.

    Returns:
        A list of `Tree`, labels 0 (very negative) to 4 (very positive).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Argument `path` must name a Sentiment Treebank file such as "
            f"'trees/train.txt' from "
            f"https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip. "
            f"Received: path={str(path)!r}"
        )
    with open(path, encoding="utf-8") as handle:
        return read_trees(handle)


def sentiment_treebank_sample():
    """The project's small worked example in the Sentiment Treebank format
    (`datasets/sst_sample.txt`: short sentences written for the project,
    labels 0-4 on every node)."""
    return load_treebank(shipped_path("sst_sample.txt"))


# ------------------------------------------------------------ restructuring
def binarize(tree, factor="left"):
    """A binary copy of `tree`: nodes with more than two children are
    factored, unary chains collapsed.

    Left factoring turns `(A B C D)` into `(((A B) C) D)`, right factoring
    into `(A (B (C D)))`. The new intermediate nodes are unlabelled. A node
    with one child is replaced by that child, keeping the upper label
    (both span the same words).

    Args:
        tree: a `Tree`.
        factor: `"left"` or `"right"`. Default: `"left"`.
    """
    v.check_choice("factor", factor, {"left", "right"})
    if tree.is_leaf:
        return Tree(tree.label, token=tree.token)
    children = [binarize(c, factor) for c in tree.children]
    if len(children) == 1:
        only = children[0]
        label = tree.label if tree.label is not None else only.label
        return Tree(label, only.children, only.token)
    if factor == "left":
        node = children[0]
        for child in children[1:-1]:
            node = Tree(None, [node, child])
        return Tree(tree.label, [node, children[-1]])
    node = children[-1]
    for child in reversed(children[1:-1]):
        node = Tree(None, [child, node])
    return Tree(tree.label, [children[0], node])


def balanced_tree(tokens, label=None):
    """A balanced binary tree over a flat sequence of tokens, of height
    `ceil(log2 T)` for `T` tokens (the left half gets the extra token).

    Args:
        tokens: non-empty sequence of str.
        label: int or None, the label of every node. Default: None.
    """
    tokens = list(tokens)
    if not tokens:
        raise ValueError(
            "Argument `tokens` must be a non-empty sequence. "
            f"Received: tokens={tokens!r}"
        )
    if len(tokens) == 1:
        return Tree(label, token=tokens[0])
    middle = (len(tokens) + 1) // 2
    return Tree(
        label,
        [
            balanced_tree(tokens[:middle], label),
            balanced_tree(tokens[middle:], label),
        ],
    )


# ---------------------------------------------------------------- vocabulary
class Vocabulary:
    """Token ids for leaves: 0 is padding (and "no token"), 1 is the
    out-of-vocabulary token, known tokens follow by decreasing count.

    Args:
        tokens: iterable of str, the training tokens (with repeats).
        min_count: int, tokens seen fewer times map to the OOV id.
            Default: 1.
        max_size: int or None, keep at most this many ids in total.
        lowercase: bool, lowercase tokens before counting and lookup.
            Default: False.

    Example:

    ```python
    vocab = Vocabulary.from_trees(trees, min_count=2)
    vocab.lookup("good"), vocab.lookup("unseen-word")  # (17, 1)
    ```
    """

    padding_token = "[PAD]"
    oov_token = "[UNK]"

    def __init__(self, tokens, min_count=1, max_size=None, lowercase=False):
        min_count = v.check_positive_int("min_count", min_count)
        if max_size is not None:
            max_size = v.check_positive_int("max_size", max_size)
            if max_size < 2:
                raise ValueError(
                    "Argument `max_size` must be at least 2 (padding and "
                    f"OOV). Received: max_size={max_size}"
                )
        self.lowercase = bool(lowercase)
        counts = collections.Counter(self._norm(t) for t in tokens)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            kept = kept[: max_size - 2]
        self.tokens = [self.padding_token, self.oov_token] + kept
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_trees(cls, trees, **kwargs):
        return cls([t for tree in trees for t in tree.leaves()], **kwargs)

    def _norm(self, token):
        return token.lower() if self.lowercase else token

    def __len__(self):
        return len(self.tokens)

    def lookup(self, token):
        """The id of `token`, 1 (OOV) if unknown."""
        return self._ids.get(self._norm(token), 1)

    def token(self, index):
        return self.tokens[index]


# ------------------------------------------------------------------ encoding
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
