"""Builder functions for whole tasks, each returning a compiled
`keras.Model` (uncompiled with `compile=False`).

Every builder takes the same compile options (`optimizer`, `loss`,
`metrics`, `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`):
see `check_compile_options`.
"""

from recipes.compile_options import COMPILE_OPTIONS, check_compile_options
from recipes.reservoir import esn_search_space
from recipes.sequence import build_sequence_regressor, build_sequence_tagger
from recipes.transfer import (
    build_image_classifier,
    image_backbone,
    image_classifier_search_space,
)
from recipes.trees import build_tree_classifier, tree_classifier_search_space
from recipes.vision import (
    build_cnn_classifier,
    build_mlp_classifier,
    cnn_classifier_search_space,
    mlp_classifier_search_space,
)

__all__ = [
    "COMPILE_OPTIONS",
    "build_cnn_classifier",
    "build_image_classifier",
    "build_mlp_classifier",
    "build_sequence_regressor",
    "build_sequence_tagger",
    "build_tree_classifier",
    "check_compile_options",
    "cnn_classifier_search_space",
    "esn_search_space",
    "image_backbone",
    "image_classifier_search_space",
    "mlp_classifier_search_space",
    "tree_classifier_search_space",
]
