"""Sweep configurations resolved against the recipes.

A configuration (see `toolkit.tuning.config`) names its recipe: `recipe:
mlp_classifier` means `recipes.build_mlp_classifier`, and `space: default`
means `recipes.mlp_classifier_search_space`. The toolkit knows no recipe by
name; this module does.

Example:

```python
from recipes.config import run_config
from toolkit.tuning.config import load_config

frame = run_config(load_config("examples/sweep_digits.yaml"), verbose=0)
```
"""

import recipes
from toolkit.tuning.config import sweep_from_config


def resolve_recipe(name):
    """`build_<name>` and `<name>_search_space` (or None) from `recipes`."""
    builder = getattr(recipes, f"build_{name}", None)
    if builder is None:
        known = sorted(
            attribute[len("build_") :]
            for attribute in dir(recipes)
            if attribute.startswith("build_")
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
