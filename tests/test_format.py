"""Format stability: the `.keras` files saved by this release (one per
public model and recipe, `tests/data/format/`) load with safe mode on and
give the outputs saved beside them."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest

FORMAT = pathlib.Path(__file__).resolve().parent / "data" / "format"
MAKE = FORMAT / "make.py"
REGENERATE = "python tests/data/format/make.py"


def _make_module():
    spec = importlib.util.spec_from_file_location("format_make", MAKE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _make_module()


@pytest.mark.parametrize("name", sorted(make.BUILDERS))
def test_saved_model_loads_with_the_same_outputs(name):
    path, arrays = FORMAT / f"{name}.keras", FORMAT / f"{name}.npz"
    if not (path.exists() and arrays.exists()):
        pytest.fail(
            f"{path.name} or {arrays.name} is missing from {FORMAT}: "
            f"regenerate them with `{REGENERATE}` (from the repository root)"
        )
    model = keras.saving.load_model(path, safe_mode=True)
    with np.load(arrays) as entries:
        entries = dict(entries)
    np.testing.assert_allclose(
        make.outputs(model, make.unpack(entries)),
        entries["y"],
        rtol=1e-5,
        atol=1e-6,
    )


def test_every_public_recipe_has_a_saved_file():
    import recipes

    builders = {n for n in recipes.__all__ if n.startswith("build_")}
    covered = {
        "build_" + name.rsplit("_", 1)[0]
        if name.startswith(("sequence_regressor", "tree_classifier"))
        else "build_" + name
        for name in make.BUILDERS
    }
    # A backbone recipe's file holds a keras.applications model (megabytes);
    # test_recipes_transfer and test_recipes_multitask round-trip them.
    backbones = {"build_image_classifier", "build_multitask_model"}
    assert builders - backbones <= covered, builders - backbones - covered
    assert sum(f.stat().st_size for f in FORMAT.iterdir()) < 2 * 2**20
