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
