"""`RecipeHyperModel`: any recipe builder, tuned by any search spaces."""

import keras_tuner

from toolkit.tuning.search_spaces import call_space


class RecipeHyperModel(keras_tuner.HyperModel):
    """A keras-tuner `HyperModel` whose `build(hp)` calls a recipe builder
    with values drawn by search-space functions.

    `build(hp)` starts from `fixed`, then merges the dict each function of
    `spaces` returns (a later space wins over an earlier one) and calls
    `builder(**arguments)`. A key with a dot, `"a.b"`, sets
    `arguments["a"]["b"]`, so a space can reach a nested dict argument
    such as `cell_options`. Recipes take no `hp`: this class is the only
    bridge between them and keras-tuner.

    An argument is either fixed or searched, never both: a space that
    returns a key of `fixed` (or a key inside a fixed dict, `"a.b"` with
    `fixed={"a": {"b": ...}}`) is an error, raised when the hypermodel is
    made (the spaces are called once with their default values), since
    the trial's record would show a searched value the model never used.
    To pin one argument of a bundled space, list the spaces it is made of
    without the one that sets it.

    Args:
        builder: a function returning a compiled `keras.Model`, e.g.
            `recipes.build_mlp_classifier`.
        spaces: a function `hp -> dict` or a list of them (see
            `toolkit.tuning.search_spaces`). Default: none.
        fixed: dict of builder arguments that are not tuned.
        name: str, the hypermodel's name. Default: the builder's name.

    Example:

    ```python
    from recipes import build_mlp_classifier
    from toolkit.tuning import (RecipeHyperModel, dropout_space,
                                learning_rate_space)

    hypermodel = RecipeHyperModel(
        build_mlp_classifier, [learning_rate_space, dropout_space],
        fixed={"input_shape": (64,), "num_classes": 10},
    )
    tuner = keras_tuner.RandomSearch(hypermodel, "val_loss", max_trials=5)
    ```
    """

    def __init__(self, builder, spaces=(), fixed=None, name=None):
        if not callable(builder):
            raise TypeError(
                "Argument `builder` must be a function returning a compiled "
                f"keras.Model. Received: builder={builder!r}"
            )
        if callable(spaces):
            spaces = [spaces]
        spaces = list(spaces)
        for space in spaces:
            if not callable(space):
                raise TypeError(
                    "Argument `spaces` must be a function `hp -> dict` or a "
                    f"list of them. Received: an element {space!r}"
                )
        if fixed is not None and not isinstance(fixed, dict):
            raise TypeError(
                "Argument `fixed` must be a dict of builder arguments. "
                f"Received: fixed={fixed!r}"
            )
        super().__init__(
            name=name or getattr(builder, "__name__", "recipe"),
            tunable=True,
        )
        self.builder = builder
        self.spaces = spaces
        self.fixed = dict(fixed or {})
        for key in self.fixed:
            if not isinstance(key, str):
                raise TypeError(
                    "Argument `fixed` must have string keys (builder "
                    f"argument names). Received: key {key!r}"
                )
        # Up front: an argument both fixed and searched fails here.
        self.arguments(keras_tuner.HyperParameters())

    def arguments(self, hp):
        """The builder arguments for `hp` (what `build` passes on)."""
        arguments = {}
        for key, value in self.fixed.items():
            _set(arguments, key, value)
        pinned = set(_paths(self.fixed))
        for space in self.spaces:
            for key, value in call_space(space, hp).items():
                both = [
                    path
                    for path in pinned
                    if path == key
                    or path.startswith(key + ".")
                    or key.startswith(path + ".")
                ]
                if both:
                    raise ValueError(
                        f"Argument `fixed` sets {sorted(both)[0]!r}, which "
                        f"the search space "
                        f"{getattr(space, '__name__', space)!r} also "
                        f"searches as {key!r}: an argument is fixed or "
                        "searched, not both. Remove it from `fixed` or "
                        f"from the spaces. Received: fixed={self.fixed!r}"
                    )
                _set(arguments, key, value)
        return arguments

    def build(self, hp):
        return self.builder(**self.arguments(hp))


def _paths(fixed, prefix=""):
    """The dotted path of every value `fixed` sets (into dict values)."""
    for key, value in fixed.items():
        path = f"{prefix}{key}"
        children = isinstance(value, dict) and value
        if children and all(isinstance(k, str) for k in value):
            yield from _paths(value, prefix=path + ".")
        else:
            yield path


def _set(arguments, key, value):
    *parents, leaf = key.split(".")
    target = arguments
    for parent in parents:
        child = target.get(parent)
        target[parent] = dict(child or {})
        target = target[parent]
    target[leaf] = value
