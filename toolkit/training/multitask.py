"""Multitask training: labels missing per task, and learned task weights.

Two things Keras users of multi-output models keep writing by hand:

- `MaskedLoss` and `MaskedMetric`: a label equal to a sentinel (or NaN)
  means "no label for this task on this sample"; it contributes nothing to
  that task's loss, gradient or metric, and the mean is taken over the
  labels that are present.
- `UncertaintyWeightedModel`: the task losses weighted by learned
  homoscedastic uncertainties (Kendall, Gal & Cipolla 2018) instead of
  hand-tuned `loss_weights`.
"""

import copy
import math
import numbers

import keras
from keras import ops

from toolkit.api_export import register

_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean")
# Keras picks these metrics by label shape; a wrapper cannot see it.
_AMBIGUOUS_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def check_missing_label(value, name="missing_label"):
    """Return `value` if it is a number (an int such as -1, or NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be a number: an int such as -1 for "
            "class labels, or float('nan') for regression targets. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def label_present(y_true, missing_label):
    """Where `y_true` holds a label: neither NaN nor `missing_label`.

    Args:
        y_true: tensor of labels or targets, any shape.
        missing_label: number, the sentinel of a missing label (NaN allowed).

    Returns:
        A boolean tensor of the shape of `y_true`.
    """
    y_true = ops.convert_to_tensor(y_true)
    floating = "float" in keras.backend.standardize_dtype(y_true.dtype)
    present = ops.ones_like(y_true, dtype="bool")
    if floating:
        present = ops.logical_not(ops.isnan(y_true))
    if not (isinstance(missing_label, float) and math.isnan(missing_label)):
        sentinel = ops.cast(missing_label, y_true.dtype)
        present = ops.logical_and(present, ops.not_equal(y_true, sentinel))
    return present


def _per_sample(present, y_pred):
    """A label row is present only if every entry of it is: reduce the
    trailing axes of `present` to the rank of the per-sample losses."""
    rank = max(len(y_pred.shape) - 1, 1)
    while len(present.shape) > rank:
        present = ops.all(present, axis=-1)
    return present


def _match_rank(weight, rank):
    weight = ops.convert_to_tensor(weight)
    while len(weight.shape) < rank:
        weight = ops.expand_dims(weight, -1)
    while len(weight.shape) > rank and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, -1)
    return weight


def _get_loss(loss):
    if isinstance(loss, keras.losses.Loss) or (
        callable(loss) and not isinstance(loss, (str, dict))
    ):
        return loss
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "Argument `loss` must be a Keras loss name (e.g. "
            "'sparse_categorical_crossentropy', 'mse'), a loss config, a "
            f"`keras.losses.Loss` or a callable. Received: loss={loss!r}"
        ) from error


@register
class MaskedLoss(keras.losses.Loss):
    """A loss that leaves out the samples whose label is missing.

    With `m_j = 1` where sample `j` has a label (no entry of its label is
    NaN or `missing_label`) and `0` where it does not, `l_j` the wrapped
    loss of sample `j` and `w_j` its sample weight (1 without one), the
    default reduction is the mean over the present labels:

    ```
    L = sum_j m_j w_j l_j / sum_j m_j        (L = 0 when sum_j m_j = 0)
    ```

    A batch in which no label is present gives 0, not NaN. Missing labels
    are replaced by 0 before the wrapped loss sees them, so that a sparse
    cross-entropy never meets a -1 class and a squared error never meets a
    NaN: their rows then get an exactly zero loss and an exactly zero
    gradient. The other reductions: `"sum"` is `sum_j m_j w_j l_j`,
    `"mean_with_sample_weight"` divides that by `sum_j m_j w_j`, and
    `None` returns `m_j l_j` per sample.

    A sample whose label has the sentinel in any entry (a vector target
    with one NaN) is left out of the task entirely: split a partly labelled
    vector target into one task per entry if that matters.

    Args:
        loss: the wrapped per-sample loss: a Keras loss name
            (`"sparse_categorical_crossentropy"`, `"mse"`, ...), a config,
            a `keras.losses.Loss` (its own reduction is not used) or a
            function `fn(y_true, y_pred)` returning one loss per sample.
        missing_label: number, the label value that means "missing". NaN
            is always missing too. Default: -1.
        reduction: as in `keras.losses.Loss`.
            Default: `"sum_over_batch_size"` (the mean above).
        name: str or None. Default: `"masked_"` and the wrapped loss's
            name.

    Example:

    ```python
    import numpy as np
    from toolkit.training import MaskedLoss

    loss = MaskedLoss("sparse_categorical_crossentropy", missing_label=-1)
    y_true = np.array([2, -1, 0])             # the second label is missing
    y_pred = np.full((3, 3), 1 / 3, "float32")
    float(loss(y_true, y_pred))               # log(3): the mean of 2 rows
    ```

    Reference:
        The masked-loss pattern asked for in keras-team/keras issues #3893,
        #3206 and #12878 (multitask networks with missing labels).
    """

    def __init__(
        self,
        loss,
        missing_label=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        missing_label = check_missing_label(missing_label)
        loss = _get_loss(loss)
        inner_name = getattr(loss, "name", getattr(loss, "__name__", "loss"))
        super().__init__(
            name=name or f"masked_{inner_name}", reduction=reduction
        )
        self.loss = loss
        self.missing_label = missing_label

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        present = _per_sample(label_present(y_true, self.missing_label), y_pred)
        weight = ops.cast(present, self.dtype)
        if self.reduction in _MEAN_REDUCTIONS:
            # Keras divides by the batch size; rescale to count present rows.
            total = ops.cast(
                ops.prod(ops.convert_to_tensor(ops.shape(weight), "int32")),
                self.dtype,
            )
            weight = weight * ops.divide_no_nan(total, ops.sum(weight))
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            weight = weight * _match_rank(sample_weight, len(weight.shape))
        return super().__call__(y_true, y_pred, sample_weight=weight)

    def call(self, y_true, y_pred):
        present = label_present(y_true, self.missing_label)
        clean = ops.where(present, y_true, ops.zeros_like(y_true))
        if isinstance(self.loss, keras.losses.Loss):
            values = self.loss.call(clean, y_pred)
        else:
            values = self.loss(clean, y_pred)
        present = _per_sample(present, y_pred)
        present = _match_rank(present, len(values.shape))
        return ops.where(present, values, ops.zeros_like(values))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "loss": keras.losses.serialize(self.loss),
                "missing_label": self.missing_label,
            }
        )
        return config


@register
class MaskedMetric(keras.metrics.Metric):
    """A metric that ignores the samples whose label is missing.

    The wrapped metric is updated with sample weight 0 on the samples whose
    label is missing (NaN or `missing_label` in any entry), their labels
    replaced by 0, so a mean metric (accuracy, mean squared error, ...)
    becomes the mean over the present labels, and 0 while none has been
    seen. A plain Keras metric would count a -1 class as a wrong answer
    and turn into NaN on a NaN target.

    Args:
        metric: a Keras metric name, config, `keras.metrics.Metric` or
            function `fn(y_true, y_pred)`. Name it exactly
            (`"sparse_categorical_accuracy"`, not `"accuracy"`: Keras
            resolves `"accuracy"` from the label shape, which the wrapper
            does not know).
        missing_label: number, the label value that means "missing". NaN
            is always missing too. Default: -1.
        name: str or None. Default: the wrapped metric's name.
        dtype: the metric's dtype. Default: None.

    Example:

    ```python
    from toolkit.training import MaskedMetric

    accuracy = MaskedMetric("sparse_categorical_accuracy", missing_label=-1)
    accuracy.update_state([1, -1], [[0.2, 0.8], [0.9, 0.1]])
    float(accuracy.result())   # 1.0: the missing row is not counted
    ```
    """

    def __init__(self, metric, missing_label=-1, name=None, dtype=None):
        missing_label = check_missing_label(missing_label)
        if isinstance(metric, str) and metric in _AMBIGUOUS_METRICS:
            raise ValueError(
                "Argument `metric` must name the metric exactly (e.g. "
                "'sparse_categorical_accuracy', 'binary_accuracy'): Keras "
                f"resolves {metric!r} from the label shape. "
                f"Received: metric={metric!r}"
            )
        try:
            metric = keras.metrics.get(metric)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "Argument `metric` must be a Keras metric name, config, "
                f"`keras.metrics.Metric` or a callable. Received: "
                f"metric={metric!r}"
            ) from error
        if not isinstance(metric, keras.metrics.Metric):
            metric = keras.metrics.MeanMetricWrapper(
                metric, name=getattr(metric, "__name__", "metric")
            )
        super().__init__(name=name or metric.name, dtype=dtype)
        self.metric = metric
        self.missing_label = missing_label

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        present = label_present(y_true, self.missing_label)
        clean = ops.where(present, y_true, ops.zeros_like(y_true))
        weight = ops.cast(_per_sample(present, y_pred), self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            weight = weight * _match_rank(sample_weight, len(weight.shape))
        self.metric.update_state(clean, y_pred, sample_weight=weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "metric": keras.metrics.serialize(self.metric),
                "missing_label": self.missing_label,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["metric"] = keras.metrics.deserialize(config["metric"])
        return cls(**config)


def _replicas():
    """Replicas of the current `tf.distribute` strategy (1 without one):
    Keras divides each replica's loss by it, the log-variance terms too."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _mean(values, sample_weight):
    """Keras's `"sum_over_batch_size"` for a plain loss function."""
    values = ops.convert_to_tensor(values)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, values.dtype)
        values = values * _match_rank(sample_weight, len(values.shape))
    return ops.mean(values) / _replicas()


@register
class UncertaintyWeightedModel(keras.Model):
    """A functional multi-output model whose task weights are learned.

    Each task `i` (an output, named by its key in the `outputs` dict) gets
    a trainable log-variance `s_i = log sigma_i^2`, and training minimises

    ```
    total = sum_i ( w_i exp(-s_i) L_i + s_i )
    ```

    where `L_i` is the task's loss (as compiled, e.g. a `MaskedLoss`) and
    `w_i` its fixed `loss_weights` entry (1 by default). This is Kendall et
    al.'s objective in the form of the authors' own code, `exp(-s) L + s`
    for every task kind. Their equation (7) puts 1/2 in front of the
    regression terms (`0.5 exp(-s) L + 0.5 s` for a Gaussian likelihood,
    `exp(-s) L + 0.5 s` for a softmax one); that changes the optimum of
    `s_i` by a factor of 2 between kinds, which a Keras loss does not tell
    apart (MAE, Huber, ...), so one form is used for all. For fixed `L_i`
    the optimum is `s_i = log(w_i L_i)`: each task's weighted term tends to
    1, and a task with a large (noisy) loss gets a small weight.

    The model logs `<task>_loss` (the unweighted `L_i`) and `<task>_weight`
    (`w_i exp(-s_i)`) each epoch, next to the total `loss`; `task_weights()`
    returns the current weights. Regularization losses are added unweighted.

    Compile it as any Keras model, with a loss per task: a dict keyed by
    task, a list in the order of the `outputs` dict, or one loss for all.

    Args:
        *args: `inputs` and `outputs` as for `keras.Model`, the outputs a
            dict of task name -> output tensor.
        initial_log_variance: float, the starting `s_i` of every task
            (0 gives every task the weight 1). Default: 0.0.
        **kwargs: `keras.Model` arguments (`name`, `trainable`).

    Example:

    ```python
    import keras
    from toolkit.training import UncertaintyWeightedModel

    inputs = keras.Input((4,))
    outputs = {"a": keras.layers.Dense(3, activation="softmax")(inputs),
               "b": keras.layers.Dense(1)(inputs)}
    model = UncertaintyWeightedModel(inputs, outputs)
    model.compile("adam", loss={"a": "sparse_categorical_crossentropy",
                                "b": "mse"})
    ```

    Reference:
        A. Kendall, Y. Gal and R. Cipolla, "Multi-task learning using
        uncertainty to weigh losses for scene geometry and semantics",
        CVPR 2018, equations (7)-(10).
    """

    def __init__(self, *args, initial_log_variance=0.0, **kwargs):
        if (
            isinstance(initial_log_variance, bool)
            or not isinstance(initial_log_variance, numbers.Real)
            or not math.isfinite(initial_log_variance)
        ):
            raise ValueError(
                "Argument `initial_log_variance` must be a finite number. "
                f"Received: initial_log_variance={initial_log_variance!r}"
            )
        outputs = kwargs.get("outputs", args[1] if len(args) > 1 else None)
        if not isinstance(outputs, dict) or not outputs:
            raise ValueError(
                "Argument `outputs` must be a non-empty dict mapping each "
                "task's name to its output tensor. Received: "
                f"outputs={outputs!r}"
            )
        super().__init__(*args, **kwargs)
        self.initial_log_variance = float(initial_log_variance)
        self.tasks = tuple(outputs)
        self.log_variances = [
            self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(
                    self.initial_log_variance
                ),
                name=f"log_variance_{task}",
            )
            for task in self.tasks
        ]
        self.task_loss_trackers = [
            keras.metrics.Mean(name=f"{task}_loss") for task in self.tasks
        ]
        self.task_weight_trackers = [
            keras.metrics.Mean(name=f"{task}_weight") for task in self.tasks
        ]
        self.task_losses = None
        self.task_loss_weights = None

    def compile(
        self, optimizer="rmsprop", loss=None, loss_weights=None, **kwargs
    ):
        """`keras.Model.compile`, with `loss` and `loss_weights` per task
        (a dict keyed by task, a list in task order, or one for all)."""
        losses = self._per_task("loss", loss)
        self.task_losses = {task: _get_loss(item) for task, item in losses}
        weights = self._per_task(
            "loss_weights", 1.0 if loss_weights is None else loss_weights
        )
        for task, weight in weights:
            if (
                isinstance(weight, bool)
                or not isinstance(weight, numbers.Real)
                or not weight >= 0
            ):
                raise ValueError(
                    "Argument `loss_weights` must hold numbers >= 0. "
                    f"Received: loss_weights={loss_weights!r}"
                )
        self.task_loss_weights = {task: float(w) for task, w in weights}
        super().compile(optimizer=optimizer, **kwargs)

    def _per_task(self, name, value):
        if isinstance(value, dict):
            if set(value) != set(self.tasks):
                raise ValueError(
                    f"Argument `{name}` must have one entry per task "
                    f"{list(self.tasks)}. Received: {name}={value!r}"
                )
            return [(task, value[task]) for task in self.tasks]
        if isinstance(value, (list, tuple)):
            if len(value) != len(self.tasks):
                raise ValueError(
                    f"Argument `{name}` must have one entry per task "
                    f"{list(self.tasks)}. Received: {name}={value!r}"
                )
            return list(zip(self.tasks, value))
        if value is None:
            raise ValueError(
                f"Argument `{name}` is required: `UncertaintyWeightedModel` "
                f"weighs one loss per task {list(self.tasks)}. "
                f"Received: {name}=None"
            )
        return [(task, value) for task in self.tasks]

    def _by_task(self, name, value):
        if value is None or isinstance(value, dict):
            value = value or {}
            missing = [task for task in self.tasks if task not in value]
            if name == "y" and missing:
                raise ValueError(
                    f"`{name}` has no entry for the task(s) {missing}; "
                    f"give one per task {list(self.tasks)}."
                )
            return {task: value.get(task) for task in self.tasks}
        if isinstance(value, (list, tuple)):
            return dict(zip(self.tasks, value))
        return {task: value for task in self.tasks}

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if self.task_losses is None:
            raise ValueError(
                "`UncertaintyWeightedModel` must be compiled with a loss "
                "per task before it is trained or evaluated."
            )
        y = self._by_task("y", y)
        y_pred = self._by_task("y_pred", y_pred)
        sample_weight = self._by_task("sample_weight", sample_weight)
        replicas = _replicas()
        total = 0.0
        for index, task in enumerate(self.tasks):
            loss = self.task_losses[task]
            if isinstance(loss, keras.losses.Loss):
                value = loss(y[task], y_pred[task], sample_weight[task])
            else:
                value = _mean(loss(y[task], y_pred[task]), sample_weight[task])
            value = ops.cast(value, "float32")
            log_variance = ops.cast(self.log_variances[index], "float32")
            weight = self.task_loss_weights[task] * ops.exp(-log_variance)
            total = total + weight * value + log_variance / replicas
            self.task_loss_trackers[index].update_state(value * replicas)
            self.task_weight_trackers[index].update_state(weight)
        if self.losses:
            total = total + ops.cast(ops.sum(self.losses), "float32") / replicas
        return total

    def task_weights(self):
        """The current weights `w_i exp(-s_i)`, a dict task -> float."""
        fixed = self.task_loss_weights or {}
        return {
            task: fixed.get(task, 1.0)
            * math.exp(-float(ops.convert_to_numpy(variable)))
            for task, variable in zip(self.tasks, self.log_variances)
        }

    def get_config(self):
        config = super().get_config()
        config["initial_log_variance"] = self.initial_log_variance
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras's functional revival pops keys: leave the caller's dict whole.
        return super().from_config(copy.deepcopy(config), custom_objects)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config and self.task_losses is not None:
            config["loss"] = {
                task: keras.losses.serialize(loss)
                for task, loss in self.task_losses.items()
            }
            config["loss_weights"] = dict(self.task_loss_weights)
        return config

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            # As Keras does: the optimizer's slots exist before they load.
            self.optimizer.build(self.trainable_variables)
