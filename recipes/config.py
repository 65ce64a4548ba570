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
from toolkit.tuning.config import sweep_from_config

#: Recipes that are a toolkit model itself, not a `build_<name>` builder:
#: their trials are the model's own (an ESN's closed-form fit).
MODELS = {"esn": ESN}


def resolve_recipe(name):
    """`build_<name>` and `<name>_search_space` (or None) from `recipes`;
    for `esn`, the `toolkit.models.ESN` class and
    `recipes.esn_search_space`."""
    if name in MODELS:
        return MODELS[name], getattr(recipes, f"{name}_search_space", None)
    builder = getattr(recipes, f"build_{name}", None)
    if builder is None:
        known = sorted(
            [
                attribute[len("build_") :]
                for attribute in dir(recipes)
                if attribute.startswith("build_")
            ]
            + list(MODELS)
        )
        raise ValueError(
            f"Argument `recipe` must name a recipe builder, one of {known}. "
            f"Received: recipe={name!r}"
        )
    return builder, getattr(recipes, f"{name}_search_space", None)


def run_config(config, verbose=1):
    """Run the sweep a checked configuration describes with the recipe it
    names; return its DataFrame."""
    builder, default_space = resolve_recipe(config["recipe"])
    return sweep_from_config(config, builder, default_space, verbose=verbose)
