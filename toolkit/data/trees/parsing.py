"""Reading bracketed trees with an integer label on every node (the Penn /
Stanford Sentiment Treebank format).

    (3 (2 It) (4 (2 's) (3 (2 very) (3 good))))
"""

from toolkit.data.trees.tree import Tree


class TreeParseError(ValueError):
    """A malformed bracketed tree; the message quotes the line and points
    at the position."""


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
