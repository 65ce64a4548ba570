"""Seeded task generators and readers of the data the project ships."""

from toolkit.data.chaotic import mackey_glass, narma
from toolkit.data.checks import check_data, check_fits_model
from toolkit.data.digits import digits_split, load_digits
from toolkit.data.listops import listops
from toolkit.data.long_term import adding_problem, copy_memory
from toolkit.data.readers import (
    make_windows,
    read_image_folder,
    read_npz,
    read_table,
    read_text_lines,
    split_validation,
)
from toolkit.data.series import sunspots
from toolkit.data.shipped import shipped_path
from toolkit.data.sources import check_source, read_source
from toolkit.data.trees import (
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
    tree_inputs,
)

__all__ = [
    "Tree",
    "TreeParseError",
    "Vocabulary",
    "adding_problem",
    "balanced_tree",
    "binarize",
    "check_data",
    "check_fits_model",
    "check_source",
    "copy_memory",
    "decode_trees",
    "digits_split",
    "encode_trees",
    "listops",
    "load_digits",
    "load_treebank",
    "mackey_glass",
    "make_windows",
    "narma",
    "parse_tree",
    "read_image_folder",
    "read_npz",
    "read_source",
    "read_table",
    "read_text_lines",
    "read_trees",
    "sentiment_treebank_sample",
    "shipped_path",
    "split_validation",
    "sunspots",
    "tree_dataset",
    "tree_inputs",
]
