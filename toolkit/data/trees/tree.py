"""Labelled trees: `Tree`, and the binary trees the binary composers need
(`binarize`, `balanced_tree`)."""

from toolkit import validation as v


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
        # An explicit stack, not recursion: a tree may be thousands deep.
        out = []
        stack = [self]
        while stack:
            node = stack.pop()
            if node.is_leaf:
                out.append(node.token)
            else:
                stack.extend(reversed(node.children))
        return out

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
        """0 for a leaf, else 1 + the largest height of the children."""
        heights = {}
        for node in self.nodes():
            heights[id(node)] = (
                0
                if node.is_leaf
                else 1 + max(heights[id(c)] for c in node.children)
            )
        return heights[id(self)]

    def __len__(self):
        return len(self.nodes())

    def __eq__(self, other):
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if not (
                isinstance(b, Tree)
                and a.label == b.label
                and a.token == b.token
                and len(a.children) == len(b.children)
            ):
                return False
            pairs.extend(zip(a.children, b.children))
        return True

    def __repr__(self):
        return f"Tree({self})"

    def __str__(self):
        parts = []
        # Items are nodes to open, or the text to write when one closes.
        stack = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            label = "" if item.label is None else f"{item.label} "
            if item.is_leaf:
                parts.append(f"({label}{item.token})")
                continue
            parts.append(f"({label}")
            stack.append(")")
            for i, child in enumerate(reversed(item.children)):
                stack.append(child)
                if i < len(item.children) - 1:
                    stack.append(" ")
        return "".join(parts)


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
    # Post-order, children before parents: no recursion, any depth.
    done = {}
    for node in tree.nodes():
        done[id(node)] = _binarize_node(
            node, [done[id(c)] for c in node.children], factor
        )
    return done[id(tree)]


def _binarize_node(node, children, factor):
    """The binary copy of `node` given its children's binary copies."""
    if node.is_leaf:
        return Tree(node.label, token=node.token)
    if len(children) == 1:
        only = children[0]
        label = node.label if node.label is not None else only.label
        return Tree(label, only.children, only.token)
    if factor == "left":
        top = children[0]
        for child in children[1:-1]:
            top = Tree(None, [top, child])
        return Tree(node.label, [top, children[-1]])
    top = children[-1]
    for child in reversed(children[1:-1]):
        top = Tree(None, [child, top])
    return Tree(node.label, [children[0], top])


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
