"""Trees as data: parsing, binarisation, vocabularies and batch encoding.

A tree in the Penn / Stanford Sentiment Treebank (SST) bracket format has
an integer label on every node and a token on every leaf:

    (3 (2 It) (4 (2 's) (3 (2 very) (3 good))))

`parse_tree` reads one such line into a `Tree` (`parsing`) and
`load_treebank` a whole file (`treebank`); `binarize` and `balanced_tree`
give the binary trees the binary composers need (a balanced tree over `T`
tokens has height `ceil(log2 T)`, against the `T` steps of a recurrent
net) (`tree`); `Vocabulary` maps tokens to ids (`vocabulary`);
`encode_trees` turns a list of trees into the flat, padded arrays the
composers of `toolkit.layers.recursive` read, `tree_dataset` batches them,
and `decode_trees` turns arrays (or a model's per-node predictions) back
into trees (`encoding`, which describes the arrays).
"""

from toolkit.data.trees.encoding import (
    decode_trees,
    encode_trees,
    height_schedule,
    tree_dataset,
    tree_inputs,
)
from toolkit.data.trees.parsing import TreeParseError, parse_tree, read_trees
from toolkit.data.trees.tree import Tree, balanced_tree, binarize
from toolkit.data.trees.treebank import (
    load_treebank,
    sentiment_treebank_sample,
)
from toolkit.data.trees.vocabulary import Vocabulary

__all__ = [
    "Tree",
    "TreeParseError",
    "Vocabulary",
    "balanced_tree",
    "binarize",
    "decode_trees",
    "encode_trees",
    "height_schedule",
    "load_treebank",
    "parse_tree",
    "read_trees",
    "sentiment_treebank_sample",
    "tree_dataset",
    "tree_inputs",
]
