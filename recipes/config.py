"""Sweep configurations resolved against the recipes.

A configuration (see `toolkit.tuning.config`) names its recipe: `recipe:
mlp_classifier` means `recipes.build_mlp_classifier`, and `space: default`
means `recipes.mlp_classifier_search_space`; `recipe: esn` means the
`toolkit.models.ESN` class (ESN trials, fitted in closed form) and
`recipes.esn_search_space`. The toolkit knows no recipe by name; this
module does.

Example:

```python
from recipes.config import run_config
from toolkit.tuning.config import load_config

frame = run_config(load_config("examples/sweep_digits.yaml"), verbose=0)
```
"""

import recipes
from toolkit.models import ESN
from toolkit.tuning.config import sweep_arguments, sweep_from_config

#: Recipes that are a toolkit model itself, not a `build_<name>` builder:
#: their trials are the model's own (an ESN's closed-form fit).
MODELS = {"esn": ESN}


def recipe_names():
    """The names a configuration's `recipe` may take: every
    `recipes.build_<name>` of `recipes.__all__`, and `MODELS`."""
    return sorted(
        [
            attribute[len("build_") :]
            for attribute in recipes.__all__
            if attribute.startswith("build_")
        ]
        + list(MODELS)
    )


def resolve_recipe(name):
    """`build_<name>` and `<name>_search_space` (or None) from `recipes`;
    for `esn`, the `toolkit.models.ESN` class and
    `recipes.esn_search_space`.

    Only the names of `recipe_names()` resolve: a name is looked up among
    the recipes `recipes` exports, never imported, so a configuration
    cannot reach other code (`os.system`, a module path).
    """
    known = recipe_names()
    if not isinstance(name, str) or name not in known:
        raise ValueError(
            f"Argument `recipe` must name a recipe builder, one of {known}. "
            f"Received: recipe={name!r}"
        )
    space = f"{name}_search_space"
    space = getattr(recipes, space) if space in recipes.__all__ else None
    if name in MODELS:
        return MODELS[name], space
    return getattr(recipes, f"build_{name}"), space


def run_config(config, verbose=1):
    """Run the sweep a checked configuration describes with the recipe it
    names; return its DataFrame."""
    builder, default_space = resolve_recipe(config["recipe"])
    return sweep_from_config(config, builder, default_space, verbose=verbose)


def prepare_config(config, verbose=1, source="config"):
    """The `sweep` keyword arguments of a checked configuration with the
    recipe it names: its data loaded and the recipe checked against the
    configuration (`toolkit.tuning.config.sweep_arguments`), so that every
    error of the configuration is raised before the first trial. `source`
    (str, where it came from) starts the messages."""
    builder, default_space = resolve_recipe(config["recipe"])
    return sweep_arguments(
        config, builder, default_space, verbose=verbose, source=source
    )
