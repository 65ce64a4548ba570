"""Recursive tree networks: composers with dynamic batching by height.

Trees are encoded by `toolkit.data.trees.encode_trees`.
"""

from toolkit.layers.recursive.recursive_composer import RecursiveComposer
from toolkit.layers.recursive.rntn_composer import RNTNComposer
from toolkit.layers.recursive.tree_composer import TreeComposer
from toolkit.layers.recursive.tree_lstm_composer import TreeLSTMComposer

__all__ = [
    "RNTNComposer",
    "RecursiveComposer",
    "TreeComposer",
    "TreeLSTMComposer",
]
