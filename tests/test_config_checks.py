"""Sweep configurations are checked key by key before any trial, and can
reach no code outside the toolkit's recipes and spaces."""

import json
import pathlib
import tempfile

import keras_tuner
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes.config import prepare_config, recipe_names, resolve_recipe
from toolkit.tuning import config as sweep_config
from toolkit.tuning import learning_rate_space
from toolkit.tuning.hypermodel import RecipeHyperModel


def _valid(**changes):
    config = {
        "recipe": "mlp_classifier",
        "data": "digits",
        "data_options": {"samples": 8, "seed": 0},
        "space": [{"learning_rate": {"max_value": 0.05}}, "dropout"],
        "fixed": {"hidden_units": [4]},
        "max_trials": 1,
        "epochs": 1,
        "directory": "unused",
        "project_name": "p",
    }
    config.update(changes)
    return config


# (what is wrong, the config's changes, the message's words)
WRONG_KINDS = [
    ("overwrite as a word", {"overwrite": "no"}, "`overwrite` must be true"),
    ("plots as a word", {"plots": "false"}, "`plots` must be true or false"),
    ("plots as 0", {"plots": 0}, "`plots` must be true or false"),
    ("trials as text", {"max_trials": "3"}, "`max_trials` must be a posit"),
    ("epochs zero", {"epochs": 0}, "`epochs` must be a positive integer"),
    ("batch as float", {"batch_size": 32.0}, "`batch_size` must be a pos"),
    ("patience", {"early_stopping": -1}, "`early_stopping` must be a pos"),
    (
        "median key misspelt",
        {"median_stopping": {"min_trial": 2}},
        r"`median_stopping` has unknown keys \['min_trial'\]",
    ),
    (
        "median value",
        {"median_stopping": {"grace_epochs": 0}},
        "`median_stopping.grace_epochs` must be a positive integer",
    ),
    ("median kind", {"median_stopping": "yes"}, "`median_stopping` must be"),
    ("objective path", {"objective": "val.loss"}, "`objective` must be a na"),
    ("tuner", {"tuner": "grid"}, "`tuner` must be one of"),
    ("seed", {"seed": -1}, "`seed` must be None or an int >= 0"),
    ("directory", {"directory": ""}, "`directory` must be a non-empty"),
    ("project up", {"project_name": ".."}, "`project_name` must be a folder"),
    ("project path", {"project_name": "a/b"}, "`project_name` must be a f"),
    ("fixed list", {"fixed": [1]}, "`fixed` must be a mapping"),
    ("space args", {"space": [{"dropout": 3}]}, "`space.dropout` must be a"),
    (
        "space argument",
        {"space": [{"dropout": {"maximum": 0.3}}]},
        r"`space.dropout` has unknown arguments \['maximum'\]",
    ),
    ("draws", {"draws": 0}, "`draws` must be a positive integer"),
    ("metrics", {"metrics": "rmse"}, "`metrics` must be a list"),
    (
        "generation",
        {"generation": {"step": 3}},
        r"`generation` has unknown keys \['step'\]",
    ),
    ("failures", {"max_consecutive_failed_trials": 0}, "`max_consecutive"),
]


def test_a_value_of_the_wrong_kind_is_refused_naming_the_key():
    # One test over the table: each row is a plain check, no training.
    for what, changes, words in WRONG_KINDS:
        with pytest.raises(ValueError, match=r"^where\.yaml: .*" + words):
            sweep_config.check_config(_valid(**changes), source="where.yaml")


def test_median_stopping_false_means_none_and_true_its_defaults():
    checked = sweep_config.check_config(_valid(median_stopping=False))
    assert checked["median_stopping"] is None
    checked = sweep_config.check_config(_valid(median_stopping=True))
    assert checked["median_stopping"] is True


def test_objective_must_be_a_metric_the_recipe_reports(tmp_path):
    config = sweep_config.check_config(_valid(objective="val_acc"))
    with pytest.raises(
        ValueError,
        match=r"`objective` must be a metric the recipe 'mlp_classifier' "
        r"reports, one of \['accuracy', 'loss', 'val_accuracy', 'val_loss'\]. "
        r"Received: objective='val_acc'",
    ):
        prepare_config(config)
    good = sweep_config.check_config(_valid(objective="val_accuracy"))
    assert prepare_config(good)["objective"] == "val_accuracy"


def test_esn_objective_is_among_what_its_trials_report():
    config = sweep_config.check_config(
        {
            "recipe": "esn",
            "data": "mackey_glass",
            "data_options": {"length": 100},
            "space": ["spectral_radius"],
            "objective": "val_rmse",
        }
    )
    with pytest.raises(ValueError, match=r"one of \['val_nrmse'\]"):
        prepare_config(config)
    config["metrics"] = ["rmse"]
    assert prepare_config(config)["objective"] == "val_rmse"


def test_fixed_values_go_through_the_builders_own_checks():
    config = sweep_config.check_config(_valid(fixed={"hidden_units": -3}))
    with pytest.raises(
        ValueError,
        match=r"the recipe 'mlp_classifier' refuses key `fixed`.*"
        r"`hidden_units`",
    ):
        prepare_config(config)
    config = sweep_config.check_config(_valid(fixed={"widht": 3}))
    with pytest.raises(TypeError, match="refuses key `fixed`.*widht"):
        prepare_config(config)


def test_an_argument_fixed_and_searched_is_an_error():
    config = sweep_config.check_config(
        _valid(space=["learning_rate"], fixed={"learning_rate": 0.1})
    )
    with pytest.raises(
        ValueError,
        match=r"`fixed` sets 'learning_rate', which the search space "
        r"'learning_rate_space' also searches",
    ):
        prepare_config(config)
    # The Python API too, when the hypermodel is made.
    with pytest.raises(ValueError, match="fixed or searched, not both"):
        RecipeHyperModel(
            lambda **a: a, learning_rate_space, fixed={"learning_rate": 1.0}
        )


def test_fixed_dicts_conflict_only_where_a_space_sets_the_same_leaf():
    def nested(hp):
        return {"cell_options.dropout": hp.Float("d", 0.0, 0.5)}

    fine = RecipeHyperModel(
        lambda **a: a, nested, fixed={"cell_options": {"peephole": True}}
    )
    assert fine.build(keras_tuner.HyperParameters()) == {
        "cell_options": {"peephole": True, "dropout": 0.0}
    }
    with pytest.raises(ValueError, match="'cell_options.dropout'"):
        RecipeHyperModel(
            lambda **a: a, nested, fixed={"cell_options": {"dropout": 0.1}}
        )
    with pytest.raises(TypeError, match="`fixed` must have string keys"):
        RecipeHyperModel(lambda **a: a, fixed={1: 2})


# Configurations that try to reach code: each is refused, naming the key.
CODE = [
    ({"recipe": "os.system"}, ValueError, "`recipe` must be a name"),
    ({"recipe": "recipes.vision.build_mlp_classifier"}, ValueError, "`recipe`"),
    ({"recipe": "__import__"}, ValueError, "`recipe` must name a recipe"),
    ({"recipe": "system"}, ValueError, "`recipe` must name a recipe"),
    ({"space": ["os.system"]}, ValueError, "`space` must be one of"),
    ({"space": [{"__import__": {}}]}, ValueError, "`space` must be one of"),
    ({"tuner": "os.system"}, ValueError, "`tuner` must be one of"),
    ({"objective": "os.system"}, ValueError, "`objective` must be a name"),
]


def test_a_config_naming_code_is_refused():
    for changes, error, words in CODE:
        with pytest.raises(error, match=words):
            checked = sweep_config.check_config(_valid(**changes))
            resolve_recipe(checked["recipe"])


def test_yaml_tags_that_run_code_are_refused(tmp_path):
    target = tmp_path / "made_by_yaml"
    path = tmp_path / "evil.yaml"
    path.write_text(
        f"recipe: !!python/object/apply:os.mkdir [{str(target)!r}]\n"
        "data: digits\n"
    )
    with pytest.raises(ValueError, match=r"evil.yaml: not valid YAML .*tags"):
        sweep_config.load_config(path)
    assert not target.exists()
    assert "esn" in recipe_names() and "mlp_classifier" in recipe_names()


def test_unparsable_files_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("recipe: mlp_classifier\ndata: [digits\n")
    with pytest.raises(ValueError, match=r"broken.yaml: not valid YAML.*line"):
        sweep_config.load_config(path)
    path = tmp_path / "broken.json"
    path.write_text('{"recipe": }')
    with pytest.raises(
        ValueError, match=r"broken.json: not valid JSON.*line 1"
    ):
        sweep_config.load_config(path)
    with pytest.raises(ValueError, match=r"keys must be names.*Received: 1"):
        sweep_config.check_config({1: 2})


# Property tests: random values for a key of a valid config, random
# configs, random files. Either a checked config or a ValueError /
# TypeError naming the key; never another exception.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
VALUES = JSON | st.sampled_from(
    ["default", "random", "val_loss", "digits", "esn", True, 1, "dropout"]
)


def _assert_checked(config):
    for key in ("overwrite", "plots"):
        assert isinstance(config[key], bool)
    for key in ("max_trials", "epochs", "batch_size"):
        assert isinstance(config[key], int) and config[key] > 0
    assert isinstance(config["fixed"], dict)
    assert isinstance(config["objective"], str)
    assert config["median_stopping"] in (None, True) or set(
        config["median_stopping"]
    ) <= set(sweep_config.MEDIAN_STOPPING_KEYS)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(sweep_config.KEYS)), value=VALUES)
def test_property_one_random_value_is_checked_or_named(key, value):
    try:
        config = sweep_config.check_config(_valid(**{key: value}))
    except (ValueError, TypeError) as error:
        assert f"`{key}" in str(error), (key, value, str(error))
    else:
        _assert_checked(config)


@settings(max_examples=200, deadline=None)
@given(
    config=st.dictionaries(
        st.sampled_from(sorted(sweep_config.KEYS)) | st.text(max_size=6),
        VALUES,
        max_size=8,
    )
)
def test_property_random_configs_are_checked_or_refused(config):
    try:
        checked = sweep_config.check_config(config)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert "`" in message or "keys" in message, message
    else:
        _assert_checked(checked)


def test_property_random_files_are_checked_or_refused():
    folder = pathlib.Path(tempfile.mkdtemp())
    texts = st.text(max_size=80) | VALUES.map(yaml.safe_dump)
    texts |= st.dictionaries(
        st.sampled_from(sorted(sweep_config.KEYS)), VALUES, max_size=6
    ).map(lambda c: yaml.safe_dump({**_valid(), **c}))

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(text=texts, suffix=st.sampled_from([".yaml", ".json"]))
    def check(text, suffix):
        path = folder / f"random{suffix}"
        if suffix == ".json":
            try:
                text = json.dumps(yaml.safe_load(text))
            except Exception:
                pass
        path.write_text(text)
        try:
            config = sweep_config.load_config(path)
        except (ValueError, TypeError) as error:
            assert str(path) in str(error), str(error)
        else:
            _assert_checked(config)

    check()


def test_check_choice_refuses_an_unhashable_value_plainly():
    from toolkit import validation

    with pytest.raises(ValueError, match=r"`data` must be one of \['a'\]"):
        validation.check_choice("data", [], {"a"})
