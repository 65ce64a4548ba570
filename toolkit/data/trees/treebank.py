"""Reading Stanford Sentiment Treebank files, and the sample the project
ships."""

import os

from toolkit.data.shipped import shipped_path
from toolkit.data.trees.parsing import read_trees


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
