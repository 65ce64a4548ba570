"""Sweep configuration files (YAML or JSON) for `toolkit sweep CONFIG`.

A configuration names a recipe, a data set, a search space, a tuner and a
budget; `sweep_from_config` turns it into a `sweep` call with a given
builder. Which builder a recipe's name means is for `recipes.config`
(`resolve_recipe`, `run_config`): the toolkit knows no recipe by name.
Example (`examples/sweep_digits.yaml`):

```yaml
recipe: mlp_classifier      # recipes.build_mlp_classifier
data: digits                # digits (flat) or digits_images (8x8x1)
data_options: {validation_fraction: 0.25, seed: 0}
space: default              # recipes.mlp_classifier_search_space
tuner: random               # random, bayesian or hyperband
max_trials: 10
epochs: 8
batch_size: 64
objective: val_loss
median_stopping: {min_trials: 3, grace_epochs: 2}
directory: sweeps
project_name: digits_mlp
```

`space` may instead list spaces of `toolkit.tuning.search_spaces` with
their arguments, e.g. `[{learning_rate: {max_value: 0.1}}, {dropout: {}}]`.

`data` may instead name your own data: a path (a `.csv`, `.parquet`,
`.npz`, `.txt` file or a folder of class folders) with `data_options`
holding the keys of `toolkit.data.sources.SOURCE_KEYS`, or a mapping of
them (`{path: my.csv, target: label, validation: 0.2}`, see
`examples/sweep_csv.yaml`). Paths are relative to the configuration
file's folder, and so is `directory` unless it is absolute. The recipe's
shape arguments the data decide (`input_shape`, `num_classes`,
`timesteps`, `features`, `outputs`, `vocabulary_size`) are filled in from
the data unless `fixed` sets them, and the data are checked against the
built model before any trial runs.

`recipe: esn` with `data: mackey_glass` runs ESN trials (see
`examples/sweep_mackey_glass.yaml`): the reservoir spaces are listed the
same way (`[{reservoir: {units: {values: [50, 100]}}}]`), `fixed` may
hold `ESN` and `ESN.fit` arguments (`units`, `washout`), and `draws`,
`metrics` and `generation` are `sweep`'s; `objective` defaults to
`val_nrmse` there (`val_loss` otherwise).
"""

import inspect
import json
import pathlib
import re

from toolkit import validation as v
from toolkit.data import sources
from toolkit.tuning import reservoir_spaces, search_spaces

#: Keys a configuration may have, with their defaults (None: required).
KEYS = {
    "recipe": None,
    "data": None,
    "data_options": {},
    "space": "default",
    "fixed": {},
    "tuner": "random",
    "max_trials": 10,
    "epochs": 10,
    "batch_size": 32,
    "objective": None,
    "early_stopping": None,
    "median_stopping": None,
    "directory": "sweeps",
    "project_name": None,
    "seed": None,
    "overwrite": False,
    "plots": True,
    "max_consecutive_failed_trials": 5,
    "draws": None,
    "metrics": None,
    "generation": None,
}

#: Spaces a configuration can list, by name.
SPACES = {
    "learning_rate": search_spaces.learning_rate_space,
    "dropout": search_spaces.dropout_space,
    "regularization": search_spaces.regularization_space,
    "initializer": search_spaces.initializer_space,
    "bias_initializer": search_spaces.bias_initializer_space,
    "reservoir": reservoir_spaces.reservoir_space,
    "spectral_radius": reservoir_spaces.spectral_radius_space,
    "leak_rate": reservoir_spaces.leak_rate_space,
    "input_scaling": reservoir_spaces.input_scaling_space,
    "ridge": reservoir_spaces.ridge_space,
    "units": reservoir_spaces.units_space,
    "connectivity": reservoir_spaces.connectivity_space,
    "bias_scaling": reservoir_spaces.bias_scaling_space,
}

#: Data sets of images (a Keras model's trials) and of series (an ESN's).
IMAGE_DATA = ("digits", "digits_images")
SERIES_DATA = ("mackey_glass",)
DATA = IMAGE_DATA + SERIES_DATA


def load_config(path):
    """Read a YAML (`.yaml`, `.yml`) or JSON (`.json`) sweep configuration,
    check it and fill in the defaults.

    YAML is read with `yaml.safe_load`: tags such as
    `!!python/object/apply:os.system` are refused, and no key of a
    configuration names code (a recipe, a space, a tuner) by a path: each
    is looked up among the toolkit's own by its short name.

    Args:
        path: str or path-like, the configuration file.

    Returns:
        The checked configuration, a dict with every key of `KEYS`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not YAML or JSON, or cannot be parsed, or
            a key is unknown or has a value of the wrong kind (the message
            names the file and the key).
        TypeError: see `check_config`.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No sweep configuration at {path}")
    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(
            "The sweep configuration must be a .yaml, .yml or .json file. "
            f"Received: {path.name}"
        )
    try:
        text = path.read_text()
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: the sweep configuration is not UTF-8 text ({error})"
        ) from None
    config = _parse(text, path)
    config = check_config(config, source=str(path), base_dir=path.parent)
    config["config_path"] = str(path.resolve())
    return config


def _parse(text, path):
    """The YAML or JSON document in `text`, or a ValueError naming the
    file and the line."""
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}: not valid JSON ({error.msg}, line {error.lineno} "
                f"column {error.colno})"
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = "" if mark is None else f", line {mark.line + 1}"
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(
            f"{path}: not valid YAML ({problem}{where}); configurations "
            "hold plain values only (no tags such as !!python/...)"
        ) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None


#: Tuners a configuration can name (`toolkit.tuning.sweep.TUNERS`).
TUNER_NAMES = ("bayesian", "hyperband", "random")

#: Keys of `median_stopping` (`MedianStopping`'s arguments).
MEDIAN_STOPPING_KEYS = ("grace_epochs", "min_trials")

#: Keys of `generation` (ESN trials).
GENERATION_KEYS = ("steps", "warmup")


def check_config(config, source="config", base_dir=None):
    """Check a configuration dict and return it with defaults filled in.

    Every key is checked for its kind before anything runs: `overwrite`
    and `plots` must be true or false (a string such as `"no"` is refused,
    not read as true), counts must be positive integers, `objective` a
    metric name, `median_stopping` a dict of `min_trials` and
    `grace_epochs`, `space` entries names of `SPACES` with their own
    arguments. Whether the recipe reports the objective, and whether it
    takes the `fixed` values, is checked when the recipe is known
    (`check_recipe`, before the first trial).

    Args:
        config: dict, the parsed configuration.
        source: str, where it came from, for the messages.
            Default: `"config"`.
        base_dir: str, path-like or None, the folder relative paths (of
            `data` and `directory`) are read from: the configuration
            file's (`load_config` passes it). Default: None (the current
            directory).

    Returns:
        A new dict with every key of `KEYS`.

    Raises:
        ValueError: a key is unknown, missing or has a wrong value; the
            message starts with `source` and names the key.
        TypeError: `fixed` or a space's arguments have keys that are not
            strings.
    """
    if not isinstance(config, dict):
        raise ValueError(
            f"{source}: a sweep configuration must be a mapping of keys "
            f"{sorted(KEYS)}. Received: {type(config).__name__}"
        )
    odd = sorted(repr(key) for key in config if not isinstance(key, str))
    if odd:
        raise ValueError(
            f"{source}: keys must be names, one of {sorted(KEYS)}. "
            f"Received: {', '.join(odd)}"
        )
    # `config_path` is what `load_config` adds to a checked configuration.
    unknown = sorted(set(config) - set(KEYS) - {"config_path"})
    if unknown:
        raise ValueError(
            f"{source}: unknown keys {unknown}; allowed keys are {sorted(KEYS)}"
        )
    missing = [
        key
        for key, default in KEYS.items()
        if default is None and key in ("recipe", "data") and key not in config
    ]
    if missing:
        raise ValueError(f"{source}: missing required keys {missing}")
    filled = {**KEYS, **config}
    try:
        filled["data"] = check_data_option(
            filled["data"], filled["data_options"], base_dir
        )
        _check_keys(filled)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{source}: {error}") from None
    if isinstance(filled["data"], dict):
        filled["data_options"] = {}
    if base_dir is not None and isinstance(filled["directory"], str):
        filled["directory"] = str(
            pathlib.Path(base_dir).resolve() / filled["directory"]
        )
    if filled["objective"] is None:
        # `esn` is the toolkit's own model (see `recipes.config.MODELS`).
        series = filled["data"] in SERIES_DATA or (
            isinstance(filled["data"], dict) and filled["recipe"] == "esn"
        )
        filled["objective"] = "val_nrmse" if series else "val_loss"
    if filled["project_name"] is None:
        filled["project_name"] = f"{filled['recipe']}_{data_name(filled)}"
    return filled


def check_data_option(data, options, base_dir=None):
    """A shipped data set's name (kept), or a data source (a path or a
    mapping, see `toolkit.data.check_source`) checked with its paths made
    absolute from `base_dir`."""
    if isinstance(data, str) and data in DATA:
        return data
    if isinstance(data, str) and not _looks_like_path(data, base_dir):
        raise ValueError(
            f"Argument `data` must be one of {sorted(DATA)}, a path to a "
            "data file or folder (.csv, .parquet, .npz, .txt, a folder of "
            "class folders) or a mapping with `path`. Received: "
            f"data={data!r}"
        )
    if isinstance(data, str):
        data = {"path": data, **dict(options or {})}
    return sources.check_source(data, base_dir)


def data_name(config):
    """A short name of a configuration's data: the shipped name, or the
    file's stem."""
    data = config["data"]
    if isinstance(data, dict):
        return pathlib.Path(data["path"]).name.split(".")[0]
    return data


def describe_data(config):
    """One line naming a configuration's data, for the command's progress:
    the shipped name, or the file and what is read from it."""
    data = config["data"]
    if not isinstance(data, dict):
        return data
    parts = [data["format"]]
    if data.get("target") and data["format"] in ("csv", "parquet"):
        parts.append(f"target {data['target']}")
    if data.get("lookback"):
        parts.append(f"windows of {data['lookback']}")
    validation = data["validation"]
    if isinstance(validation, float):
        parts.append(f"{validation:g} held out")
    elif isinstance(validation, dict):
        parts.append(f"validation column {validation['column']}")
    else:
        parts.append(f"validation {pathlib.Path(validation).name}")
    return f"{data['path']} ({', '.join(parts)})"


def _looks_like_path(text, base_dir):
    path = pathlib.Path(text)
    if base_dir is not None and not path.is_absolute():
        path = pathlib.Path(base_dir) / path
    return path.exists() or "/" in text or "." in path.name


def _check_keys(config):
    """Check the kind of every key but `data` and `data_options` (the data
    readers check those); normalise `median_stopping: false` to None."""
    _check_name("recipe", config["recipe"])
    _check_space(config["space"])
    _check_mapping("fixed", config["fixed"])
    v.check_choice("tuner", config["tuner"], set(TUNER_NAMES))
    for key in ("max_trials", "epochs", "batch_size"):
        v.check_positive_int(key, config[key])
    v.check_positive_int(
        "max_consecutive_failed_trials",
        config["max_consecutive_failed_trials"],
    )
    if config["objective"] is not None:
        _check_name("objective", config["objective"])
    if config["early_stopping"] is not None:
        v.check_positive_int("early_stopping", config["early_stopping"])
    config["median_stopping"] = _check_median_stopping(
        config["median_stopping"]
    )
    _check_text("directory", config["directory"])
    if config["project_name"] is not None:
        _check_text("project_name", config["project_name"])
        if re.search(r"[/\\]|^\.\.?$", config["project_name"]):
            raise ValueError(
                "Argument `project_name` must be a folder name, without "
                "`/`, `\\`, `.` or `..` (the sweep lives in "
                "`directory/project_name`). Received: "
                f"project_name={config['project_name']!r}"
            )
    v.check_seed(config["seed"])
    for key in ("overwrite", "plots"):
        if not isinstance(config[key], bool):
            raise ValueError(
                f"Argument `{key}` must be true or false. Received: "
                f"{key}={config[key]!r} ({type(config[key]).__name__})"
            )
    if config["draws"] is not None:
        v.check_positive_int("draws", config["draws"])
    metrics = config["metrics"]
    if metrics is not None and not (
        isinstance(metrics, list)
        and all(isinstance(name, str) for name in metrics)
    ):
        raise ValueError(
            "Argument `metrics` must be a list of metric names, e.g. "
            f"['rmse', 'mae']. Received: metrics={metrics!r}"
        )
    generation = config["generation"]
    if generation is not None:
        _check_mapping("generation", generation, allowed=GENERATION_KEYS)
        for key, value in generation.items():
            v.check_positive_int(f"generation.{key}", value)


def _check_name(key, value):
    """A short name: letters, digits and `_`, as recipes, metrics and
    spaces are named (no module path, no dots)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_]\w*", value):
        raise ValueError(
            f"Argument `{key}` must be a name (letters, digits, `_`; no "
            f"module path). Received: {key}={value!r}"
        )
    return value


def _check_text(key, value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"Argument `{key}` must be a non-empty string. "
            f"Received: {key}={value!r}"
        )
    return value


def _check_mapping(key, value, allowed=None):
    """A dict with string keys (and only `allowed` ones, if given)."""
    if not isinstance(value, dict):
        raise ValueError(
            f"Argument `{key}` must be a mapping of names to values. "
            f"Received: {key}={value!r}"
        )
    for name in value:
        if not isinstance(name, str):
            raise TypeError(
                f"Argument `{key}` must have string keys. Received: key "
                f"{name!r} in {key}"
            )
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise ValueError(
                f"Argument `{key}` has unknown keys {unknown}; allowed keys "
                f"are {sorted(allowed)}. Received: {key}={value!r}"
            )
    return value


def _check_median_stopping(value):
    """None, True or `{min_trials, grace_epochs}`; false means None."""
    if value is None or value is False:
        return None
    if value is True:
        return True
    _check_mapping("median_stopping", value, allowed=MEDIAN_STOPPING_KEYS)
    for key, number in value.items():
        v.check_positive_int(f"median_stopping.{key}", number)
    return value


def _check_space(space):
    """`"default"` or a list of names of `SPACES` or `{name: {argument:
    value}}`, each argument one the space function takes."""
    if space == "default":
        return
    if not isinstance(space, list):
        raise ValueError(
            "Argument `space` must be 'default' or a list of "
            f"{{name: {{arguments}}}} with names {sorted(SPACES)}. "
            f"Received: space={space!r}"
        )
    for entry in space:
        name, arguments = _space_entry(entry)
        function = SPACES[v.check_choice("space", name, set(SPACES))]
        if arguments is None:
            continue
        _check_mapping(f"space.{name}", arguments)
        takes = [
            parameter
            for parameter in inspect.signature(function).parameters
            if parameter != "hp"
        ]
        unknown = sorted(set(arguments) - set(takes))
        if unknown:
            raise ValueError(
                f"Argument `space.{name}` has unknown arguments {unknown}; "
                f"`{function.__name__}` takes {takes}. "
                f"Received: {name}={arguments!r}"
            )


def _space_entry(entry):
    """`(name, arguments)` of one entry of a `space` list."""
    if isinstance(entry, str):
        return entry, None
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(
            "Each entry of `space` must be a name or {name: {arguments}}."
            f" Received: {entry!r}"
        )
    ((name, arguments),) = entry.items()
    if not isinstance(name, str):
        raise ValueError(
            "Each entry of `space` must be a name or {name: {arguments}}."
            f" Received: {entry!r}"
        )
    return name, arguments


def resolve_space(space, default_space):
    """The list of search-space functions a configuration asks for."""
    if space == "default":
        if default_space is None:
            raise ValueError(
                "Argument `space` is 'default' but the recipe has no "
                "`<recipe>_search_space`; list spaces instead, e.g. "
                "[{learning_rate: {}}]. Received: space='default'"
            )
        return [default_space]
    _check_space(space)
    functions = []
    for entry in space:
        name, arguments = _space_entry(entry)
        functions.append(_bind(SPACES[name], dict(arguments or {})))
    return functions


def load_data(name, options):
    """The `(train, validation)` pairs of a configuration's data set.

    `digits`, `digits_images`: `toolkit.data.digits_split`'s options, and
    `samples` (keep the first ones of each part). `mackey_glass`: the
    series `toolkit.data.mackey_glass(length + horizon, ...)` as inputs
    `x_t` and targets `x_{t+horizon}`, split in time: the last
    `validation_fraction` is the validation part, which continues the
    training part; options `length` (default 2000), `horizon` (1),
    `validation_fraction` (0.25) and `mackey_glass`'s own (`tau`, `seed`,
    `discard`, ...).
    """
    from toolkit.data import digits_split

    if isinstance(name, dict):
        train, validation, _ = sources.read_source(name)
        return train, validation
    if name in SERIES_DATA:
        return _series_split(dict(options or {}))
    options = dict(options or {})
    samples = options.pop("samples", None)
    shape = "image" if name == "digits_images" else "flat"
    (x, y), (x_val, y_val) = digits_split(shape=shape, **options)
    if samples is not None:
        samples = v.check_positive_int("samples", samples)
        x, y = x[:samples], y[:samples]
        x_val, y_val = x_val[:samples], y_val[:samples]
    return (x, y), (x_val, y_val)


def sweep_from_config(config, builder, default_space=None, verbose=1):
    """Run the sweep a checked configuration describes; return its
    DataFrame (`sweep(**sweep_arguments(...))`).

    Args:
        config: dict, from `load_config` or `check_config`.
        builder: the recipe builder to tune (`recipes.config.run_config`
            passes the one `config["recipe"]` names).
        default_space: the search-space function `space: default` means,
            or None if there is none.
        verbose: 0 or 1, passed to `sweep`. Default: 1.
    """
    from toolkit.tuning.sweep import sweep

    return sweep(
        **sweep_arguments(config, builder, default_space, verbose=verbose)
    )


def sweep_arguments(
    config, builder, default_space=None, verbose=1, source="config"
):
    """The keyword arguments of `sweep` for a checked configuration, with
    its data loaded and the recipe checked against it (`check_recipe`):
    every error of the configuration is raised here, before any trial.
    Arguments as for `sweep_from_config`; `source` (str, where the
    configuration came from) starts the messages. Default: `"config"`.
    """
    from toolkit.tuning.esn_trials import is_esn

    own = isinstance(config["data"], dict)
    series = config["data"] in SERIES_DATA
    if callable(builder) and not own and is_esn(builder) != series:
        kind = "series" if is_esn(builder) else "images"
        allowed = SERIES_DATA if is_esn(builder) else IMAGE_DATA
        raise ValueError(
            f"Argument `data`: the recipe learns from {kind}, one of "
            f"{list(allowed)}. Received: data={config['data']!r}"
        )
    spaces = resolve_space(config["space"], default_space)
    fixed = dict(config["fixed"] or {})
    if own:
        train, validation, info = sources.read_source(
            config["data"], series=is_esn(builder)
        )
        if not is_esn(builder):
            fixed = fit_recipe_to_data(builder, fixed, train, info, validation)
    else:
        train, validation = load_data(config["data"], config["data_options"])
    check_recipe(
        {**config, "fixed": fixed}, builder, spaces, validation, source=source
    )
    return dict(
        builder=builder,
        data=train,
        space=spaces,
        tuner=config["tuner"],
        max_trials=config["max_trials"],
        directory=config["directory"],
        project_name=config["project_name"],
        objective=config["objective"],
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        validation_data=validation,
        fixed=fixed,
        early_stopping=config["early_stopping"],
        median_stopping=config["median_stopping"],
        seed=config["seed"],
        overwrite=config["overwrite"],
        verbose=verbose,
        max_consecutive_failed_trials=config["max_consecutive_failed_trials"],
        draws=config["draws"],
        metrics=config["metrics"],
        generation=config["generation"],
    )


def check_recipe(config, builder, spaces, validation, source="config"):
    """Check, before any trial, that the recipe takes the configuration:
    build it once with `fixed` and the spaces' default values (so the
    builder's own checks see `fixed`), and check that it reports the
    `objective`.

    A Keras recipe's reported metrics are what `evaluate` on two
    validation examples returns (`loss` and the compiled metrics), each
    also with the `val_` prefix; an ESN trial reports `val_nrmse`,
    `val_<name>` for `metrics` and `val_generation_nrmse` with
    `generation`.

    Args:
        config: dict, a checked configuration.
        builder: the recipe builder, or the `toolkit.models.ESN` class.
        spaces: the list of search-space functions (`resolve_space`).
        validation: the validation `(x, y)` (or a dataset of batches).
        source: str, for the messages. Default: `"config"`.

    Returns:
        The list of metric names the recipe reports.

    Raises:
        ValueError: `fixed` and a space both set an argument, the builder
            refuses `fixed`, the recipe cannot take the data, or the
            objective is none of the reported metrics.
        TypeError: the builder refuses the type of a `fixed` value.
    """
    import keras_tuner

    from toolkit.tuning.esn_trials import ESNHyperModel, is_esn
    from toolkit.tuning.hypermodel import RecipeHyperModel

    hp = keras_tuner.HyperParameters()
    fixed = dict(config["fixed"] or {})
    try:
        if is_esn(builder):
            hypermodel = ESNHyperModel(spaces, fixed=fixed, builder=builder)
            hypermodel.build(hp)
        else:
            model = RecipeHyperModel(builder, spaces, fixed=fixed).build(hp)
    except (ValueError, TypeError) as error:
        raise type(error)(
            f"{source}: the recipe {config['recipe']!r} refuses key `fixed` "
            f"(built with the spaces' default values): {error}"
        ) from None
    if is_esn(builder):
        reported = ["val_nrmse"]
        reported += [f"val_{name}" for name in config["metrics"] or []]
        if config["generation"]:
            reported.append("val_generation_nrmse")
    else:
        reported = _reported_metrics(model, validation, config, source)
    if config["objective"] not in reported:
        raise ValueError(
            f"{source}: key `objective` must be a metric the recipe "
            f"{config['recipe']!r} reports, one of {reported}. Received: "
            f"objective={config['objective']!r}"
        )
    return reported


def _reported_metrics(model, validation, config, source):
    """`loss`, the compiled metrics and their `val_` names, from one
    `evaluate` on two validation examples (which also proves the recipe
    takes the data's shape)."""
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        x, y = validation
        batch = dict(x=x[:2], y=y[:2])
    else:
        batch = dict(x=validation.take(1))
    try:
        logs = model.evaluate(**batch, return_dict=True, verbose=0)
    except Exception as error:
        last = str(error).strip().splitlines() or [type(error).__name__]
        raise ValueError(
            f"{source}: the recipe {config['recipe']!r} cannot take the "
            f"data {config['data']!r}: {last[-1]}"
        ) from error
    names = list(logs)
    return names + [f"val_{name}" for name in names]


#: Recipe arguments the data decide, each from `(x, y, info)`.
SHAPE_ARGUMENTS = {
    "input_shape": lambda x, y, info: tuple(x.shape[1:]),
    "num_classes": lambda x, y, info: info.get("num_classes"),
    "timesteps": lambda x, y, info: x.shape[1] if x.ndim == 3 else None,
    "features": lambda x, y, info: x.shape[2] if x.ndim == 3 else None,
    "outputs": lambda x, y, info: 1 if y.ndim == 1 else y.shape[1],
    "vocabulary_size": lambda x, y, info: (
        len(info["vocabulary"]) if "vocabulary" in info else None
    ),
}


def fit_recipe_to_data(builder, fixed, train, info=None, validation=None):
    """`fixed` with the builder's shape arguments that it lacks filled in
    from the data (see `SHAPE_ARGUMENTS`); then the builder's model, so
    built, is checked against the data (`toolkit.data.check_fits_model`)
    before any trial runs.

    Args:
        builder: a recipe builder (a function of keyword arguments).
        fixed: dict of the builder arguments the configuration fixes.
        train: `(x, y)`, the training data.
        info: dict or None, what the reader found (`num_classes`,
            `vocabulary`). Default: None.
        validation: `(x_val, y_val)` or None, checked the same way.
            Default: None.

    Returns:
        A new dict: `fixed` and the arguments found.
    """
    import inspect

    import keras_tuner

    from toolkit.data import check_data, check_fits_model

    check_data(train, "data")
    check_data(validation, "validation_data")
    if isinstance(builder, keras_tuner.HyperModel) or not callable(builder):
        return dict(fixed)
    x, y = train
    probe = x["tokens"] if isinstance(x, dict) else x
    parameters = inspect.signature(builder).parameters
    filled = dict(fixed)
    for name, find in SHAPE_ARGUMENTS.items():
        if name in parameters and name not in filled:
            value = find(probe, y, info or {})
            if value is not None:
                filled[name] = value
    model = builder(**filled)
    check_fits_model(model, x, y, "data")
    if validation is not None:
        check_fits_model(model, *validation, "validation_data")
    return filled


def _series_split(options):
    """Mackey-Glass inputs and targets, split in time."""
    from toolkit.data import mackey_glass

    length = v.check_positive_int("length", options.pop("length", 2000))
    horizon = v.check_positive_int("horizon", options.pop("horizon", 1))
    fraction = v.check_in_range(
        "validation_fraction",
        options.pop("validation_fraction", 0.25),
        0.0,
        1.0,
        low_closed=False,
        high_closed=False,
    )
    series = mackey_glass(length + horizon, **options).astype("float32")
    x, y = series[:-horizon], series[horizon:]
    cut = int(round(length * (1.0 - fraction)))
    if not 0 < cut < length:
        raise ValueError(
            "Arguments `length` and `validation_fraction` leave no "
            f"training or no validation steps. Received: length={length}, "
            f"validation_fraction={fraction}"
        )
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def _bind(function, arguments):
    def space(hp):
        return function(hp, **arguments)

    space.__name__ = function.__name__
    return space
