"""Multitask learning: several heads over one shared pretrained backbone.

`build_multitask_model` shares everything up to the layer named
`"backbone"` with `build_image_classifier` (the same image input, optional
augmentation, the backbone's own preprocessing and the backbone called in
inference mode), then gives each task its own head, loss, metrics and
weight. A label missing for a task (a sentinel) contributes nothing to that
task's loss, gradient or metrics (`toolkit.training.MaskedLoss`); the task
weights can be learned (`toolkit.training.UncertaintyWeightedModel`).
"""

import math
import numbers

import keras

from recipes import transfer
from recipes.compile_options import check_compile_options, compile_recipe
from toolkit import validation as v
from toolkit.training import MaskedLoss, MaskedMetric, UncertaintyWeightedModel
from toolkit.training.multitask import check_missing_label
from toolkit.tuning import search_spaces as spaces

#: The task kinds and their defaults: loss, metric and missing label.
KINDS = {
    "classification": (
        "sparse_categorical_crossentropy",
        "sparse_categorical_accuracy",
        -1,
    ),
    "regression": ("mse", "mean_absolute_error", float("nan")),
}

_TASK_KEYS = ("kind", "num_classes", "units", "loss_weight", "missing_label")
_TASK_KEYS = _TASK_KEYS + ("metrics",)
# Names the shared layers take: a task named so would clash with them.
_RESERVED = ("image", "augmentation", "preprocessing", "backbone")
_RESERVED = _RESERVED + ("flatten", "dropout")


def check_tasks(tasks):
    """Check a task table and fill in its defaults.

    Args:
        tasks: dict, task name -> spec (see `build_multitask_model`).

    Returns:
        A dict task name -> spec with every key: `kind`, `units` (the
        head's width: `num_classes` for a classification), `loss_weight`,
        `missing_label` and `metrics`.
    """
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(
            "Argument `tasks` must be a non-empty dict mapping task names to "
            'specs such as {"num_classes": 3} or {"units": 1, "kind": '
            f'"regression"}}. Received: tasks={tasks!r}'
        )
    checked = {}
    for name, spec in tasks.items():
        if not isinstance(name, str) or not name or name in _RESERVED:
            raise ValueError(
                "Argument `tasks` must have non-empty string names, none "
                f"of {list(_RESERVED)} (the shared layers' names). "
                f"Received: task name {name!r}"
            )
        checked[name] = _check_task(name, spec)
    return checked


def _check_task(name, spec):
    where = f"tasks[{name!r}]"
    if not isinstance(spec, dict):
        raise ValueError(
            f"Argument `{where}` must be a dict such as "
            f'{{"num_classes": 3}}. Received: {where}={spec!r}'
        )
    unknown = sorted(set(spec) - set(_TASK_KEYS))
    if unknown:
        raise ValueError(
            f"Argument `{where}` has unknown keys {unknown}; the keys are "
            f"{sorted(_TASK_KEYS)}. Received: {where}={spec!r}"
        )
    default_kind = "classification" if "num_classes" in spec else None
    kind = spec.get("kind", default_kind)
    if kind is None:
        raise ValueError(
            f"Argument `{where}` must give `num_classes` (a classification) "
            f'or `"kind": "regression"`. Received: {where}={spec!r}'
        )
    kind = v.check_choice(f"{where}['kind']", kind, set(KINDS))
    if kind == "classification":
        if "units" in spec:
            raise ValueError(
                f"Argument `{where}` is a classification: give "
                f"`num_classes`, not `units`. Received: {where}={spec!r}"
            )
        units = spec.get("num_classes")
        if (
            isinstance(units, bool)
            or not isinstance(units, numbers.Integral)
            or units < 2
        ):
            raise ValueError(
                f"Argument `{where}['num_classes']` must be an integer >= 2. "
                f"Received: num_classes={units!r}"
            )
    else:
        if "num_classes" in spec:
            raise ValueError(
                f"Argument `{where}` is a regression: give `units`, not "
                f"`num_classes`. Received: {where}={spec!r}"
            )
        units = v.check_positive_int(f"{where}['units']", spec.get("units", 1))
    loss_weight = spec.get("loss_weight", 1.0)
    if (
        isinstance(loss_weight, bool)
        or not isinstance(loss_weight, numbers.Real)
        or not (0 <= loss_weight < math.inf)
    ):
        raise ValueError(
            f"Argument `{where}['loss_weight']` must be a finite number "
            f">= 0. Received: loss_weight={loss_weight!r}"
        )
    missing = check_missing_label(
        spec.get("missing_label", KINDS[kind][2]), f"{where}['missing_label']"
    )
    metrics = spec.get("metrics", "auto")
    if isinstance(metrics, str) and metrics == "auto":
        metrics = [KINDS[kind][1]]
    elif isinstance(metrics, (str, keras.metrics.Metric)) or callable(metrics):
        metrics = [metrics]
    return {
        "kind": kind,
        "units": int(units),
        "loss_weight": float(loss_weight),
        "missing_label": missing,
        "metrics": list(metrics),
    }


def _masked_metrics(spec):
    metrics = []
    for metric in spec["metrics"]:
        if isinstance(metric, MaskedMetric):
            metrics.append(metric)
            continue
        if spec["kind"] == "classification" and metric in ("accuracy", "acc"):
            metric = "sparse_categorical_accuracy"
        metrics.append(MaskedMetric(metric, spec["missing_label"]))
    return metrics


def build_multitask_model(
    tasks,
    input_shape=(224, 224, 3),
    backbone="resnet50",
    weights="imagenet",
    pooling="avg",
    dropout=0.0,
    augmentation=None,
    seed=None,
    uncertainty_weighting=False,
    compile=True,
    **compile_options,
):
    """One pretrained backbone shared by several task heads.

    `Input "image"` -> [`Sequential "augmentation"`] ->
    `ImagePreprocessing "preprocessing"` -> `"backbone"` called with
    `training=False` -> [`Flatten "flatten"` when `pooling=None`] ->
    [`Dropout "dropout"`] -> one `Dense` head per task, named after the
    task: `softmax` over `num_classes` for a classification, linear with
    `units` outputs for a regression. The layers up to `"backbone"` are
    those of `recipes.build_image_classifier`; the outputs are a dict
    keyed by task, and so are the labels `fit` takes.

    Each task's loss is a `toolkit.training.MaskedLoss`: a sample whose
    label is the task's `missing_label` (or NaN) adds nothing to that
    task's loss, gradient or metrics, and the task loss is the mean over
    the present labels. The model minimises `sum_i w_i L_i`, or with
    `uncertainty_weighting=True` Kendall et al.'s
    `sum_i (w_i exp(-s_i) L_i + s_i)` with a learned log-variance `s_i`
    per task (see `toolkit.training.UncertaintyWeightedModel`; the model
    then logs `<task>_weight` every epoch).

    Args:
        tasks: dict, task name -> spec. A classification is
            `{"num_classes": k}` (k >= 2; sparse integer labels, missing
            label -1); a regression is `{"kind": "regression", "units": n}`
            (n defaults to 1; float targets, missing label NaN). Optional
            keys: `"loss_weight"` (float >= 0, the fixed weight `w_i`;
            default 1), `"missing_label"` (a number), `"metrics"` (`"auto"`:
            sparse categorical accuracy or mean absolute error; or a list
            of metric names or objects, each wrapped in a `MaskedMetric`;
            `"accuracy"` means sparse categorical accuracy).
        input_shape: tuple `(height, width, 3)`. Default: `(224, 224, 3)`.
        backbone: str, a key of `recipes.transfer.BACKBONES`.
            Default: `"resnet50"`.
        weights: `"imagenet"`, a weights file path or None (see
            `recipes.transfer.image_backbone`). Default: `"imagenet"`.
        pooling: `"avg"`, `"max"` or None (the feature map flattened).
            Default: `"avg"`.
        dropout: float in [0, 1), on the shared features. Default: 0.
        augmentation: None, True or a dict (see
            `recipes.build_image_classifier`). Default: None.
        seed: None or int >= 0, the augmentation's and dropout's seed.
            Default: None.
        uncertainty_weighting: bool, learn the task weights.
            Default: False.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here `loss="auto"` is a
            `MaskedLoss` per task (sparse categorical cross-entropy or
            mean squared error) and `metrics="auto"` the tasks' metrics.

    Returns:
        A `keras.Model` (an `UncertaintyWeightedModel` with
        `uncertainty_weighting=True`) mapping images
        `(batch, height, width, 3)` in [0, 255] to a dict of task outputs.

    Example:

    ```python
    import numpy as np
    from recipes import build_multitask_model

    tasks = {"digit": {"num_classes": 10},
             "size": {"kind": "regression", "units": 1}}
    model = build_multitask_model(tasks, input_shape=(32, 32, 3),
                                  backbone="mobilenet_v2", weights=None,
                                  uncertainty_weighting=True)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 32, 32, 3))
    labels = {"digit": rng.integers(-1, 10, 8),      # -1: missing
              "size": rng.normal(size=(8, 1))}
    model.fit(images, labels, epochs=1, verbose=0)
    ```

    Reference:
        R. Caruana, "Multitask learning", Machine Learning 28, 1997 (hard
        parameter sharing); A. Kendall, Y. Gal and R. Cipolla, "Multi-task
        learning using uncertainty to weigh losses for scene geometry and
        semantics", CVPR 2018.
    """
    options = check_compile_options("build_multitask_model", compile_options)
    tasks = check_tasks(tasks)
    if not isinstance(uncertainty_weighting, bool):
        raise ValueError(
            "Argument `uncertainty_weighting` must be True or False. "
            f"Received: uncertainty_weighting={uncertainty_weighting!r}"
        )
    backbone = transfer._check_backbone(backbone)
    input_shape = transfer._check_input_shape(backbone, input_shape)
    weights = transfer._check_weights(weights)
    pooling = transfer._check_pooling(pooling, allow_none=True)
    dropout = v.check_rate("dropout", dropout)
    augmentation = transfer._check_augmentation(augmentation)
    seed = v.check_seed(seed)
    backbone_model, preprocessing = transfer.image_backbone(
        backbone, input_shape, weights, pooling
    )
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if augmentation:
        x = transfer._augmentation_block(augmentation, seed)(x)
    x = preprocessing(x)
    x = backbone_model(x, training=False)
    if pooling is None:
        x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = {}
    for name, spec in tasks.items():
        activation = "softmax" if spec["kind"] == "classification" else None
        outputs[name] = keras.layers.Dense(
            spec["units"], activation=activation, name=name
        )(x)
    if uncertainty_weighting:
        model = UncertaintyWeightedModel(
            inputs, outputs, name="multitask_model"
        )
    else:
        model = keras.Model(inputs, outputs, name="multitask_model")
    if compile:
        losses = {
            name: MaskedLoss(KINDS[spec["kind"]][0], spec["missing_label"])
            for name, spec in tasks.items()
        }
        metrics = {name: _masked_metrics(spec) for name, spec in tasks.items()}
        compile_recipe(
            model,
            options,
            losses,
            metrics,
            loss_weights={
                name: spec["loss_weight"] for name, spec in tasks.items()
            },
        )
    return model


def multitask_search_space(hp):
    """The tuning space of `build_multitask_model`'s shared head: learning
    rate, dropout, pooling and whether the task weights are learned.

    Returns:
        A dict of `build_multitask_model` arguments.
    """
    values = {}
    values.update(spaces.learning_rate_space(hp, 1e-5, 1e-2, default=1e-3))
    values.update(spaces.dropout_space(hp, max_value=0.5))
    values["pooling"] = hp.Choice("pooling", ["avg", "max"], default="avg")
    values["uncertainty_weighting"] = hp.Boolean(
        "uncertainty_weighting", default=False
    )
    return values
