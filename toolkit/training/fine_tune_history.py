"""What `fine_tune` keeps of its two `fit`s: the per-epoch history, the
callbacks' view of the model, one backup per phase, and the plot."""

import json
import os
import shutil

import keras

from toolkit import validation as v


class HistoryRecorder(keras.callbacks.Callback):
    """Keeps one row per epoch: phase, global and in-phase epoch, the
    learning rate and the logs; with a backup, also on disk, so that a
    resumed run still returns every epoch."""

    def __init__(self, backup=None):
        super().__init__()
        self.backup = backup
        self.rows = backup.load_rows() if backup is not None else []

    def start(self, phase, offset):
        self.phase, self.offset, self.first = phase, offset, True

    def on_epoch_begin(self, epoch, logs=None):
        if self.first:
            # A resumed phase starts past its saved epochs: forget the
            # rows of epochs it will run again.
            self.rows = [row for row in self.rows if row["epoch"] <= epoch]
            self.first = False

    def on_epoch_end(self, epoch, logs=None):
        rate = self.model.optimizer.learning_rate
        row = {
            "phase": self.phase,
            "epoch": epoch + 1,
            "phase_epoch": epoch + 1 - self.offset,
            "learning_rate": float(keras.ops.convert_to_numpy(rate)),
        }
        row.update({k: float(value) for k, value in (logs or {}).items()})
        self.rows.append(row)
        if self.backup is not None:
            self.backup.save_rows(self.rows)


class SeeModel(keras.callbacks.Callback):
    """Runs `callback` as if `model` were the one being fitted.

    A cached phase 1 fits a head model on features; checkpoints, early
    stopping's best weights and tuners want the whole model, whose head
    shares those weights. A stop the callback asks of `model` is passed on
    to the model being fitted.
    """

    def __init__(self, callback, model):
        super().__init__()
        self.callback, self.seen = callback, model

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(self.seen)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def _forward(self, hook, *args):
        getattr(self.callback, hook)(*args)
        if self.seen.stop_training:
            self.model.stop_training = True


def _hook(name):
    def forward(self, *args, **kwargs):
        self._forward(name, *args, *kwargs.values())

    forward.__name__ = name
    return forward


for _name in (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
):
    setattr(SeeModel, _name, _hook(_name))


class PhasedBackup:
    """One `BackupAndRestore` per phase under the user's backup directory,
    a marker with the model's weights when phase 1 is done, and the
    history rows so far."""

    def __init__(self, callback):
        self.callback = callback
        self.directory = str(callback.backup_dir)

    def for_phase(self, phase):
        return keras.callbacks.BackupAndRestore(
            os.path.join(self.directory, f"phase_{phase}"),
            save_freq=self.callback.save_freq,
            double_checkpoint=self.callback.double_checkpoint,
            delete_checkpoint=False,
        )

    def phase_weights(self, phase):
        os.makedirs(self.directory, exist_ok=True)
        return os.path.join(self.directory, f"phase_{phase}_done.weights.h5")

    def phase_done(self, phase):
        return os.path.exists(self.phase_weights(phase))

    def _rows_path(self):
        return os.path.join(self.directory, "history.json")

    def load_rows(self):
        if not os.path.exists(self._rows_path()):
            return []
        with open(self._rows_path()) as file:
            return json.load(file)

    def save_rows(self, rows):
        os.makedirs(self.directory, exist_ok=True)
        with open(self._rows_path(), "w") as file:
            json.dump(rows, file)

    def finish(self):
        if self.callback.delete_checkpoint:
            shutil.rmtree(self.directory, ignore_errors=True)


def split_backup(callbacks):
    """`(other callbacks, PhasedBackup or None)` of the user's list."""
    if callbacks is None:
        return [], None
    if not isinstance(callbacks, (list, tuple)) or not all(
        isinstance(callback, keras.callbacks.Callback) for callback in callbacks
    ):
        raise TypeError(
            "Argument `callbacks` must be None or a list of Keras "
            f"callbacks. Received: callbacks={callbacks!r}"
        )
    backups = [
        callback
        for callback in callbacks
        if isinstance(callback, keras.callbacks.BackupAndRestore)
    ]
    if len(backups) > 1:
        raise ValueError(
            "Argument `callbacks` must hold at most one BackupAndRestore. "
            f"Received: {len(backups)}"
        )
    others = [callback for callback in callbacks if callback not in backups]
    return others, PhasedBackup(backups[0]) if backups else None


def plot_fine_tuning(frame, metrics=None, path=None, title=None):
    """Both phases' learning curves, the phase boundary marked.

    Args:
        frame: the DataFrame `fine_tune` returns.
        metrics: list of metric names (each drawn with its `val_` curve
            where there is one), or None for `"loss"` and every other
            training metric. Default: None.
        path: str or None, save the figure there (e.g. a `.png`).
        title: str or None, the figure's title.

    Returns:
        The list of matplotlib `Axes`, one per metric.
    """
    plt = v.require_pyplot()
    known = [
        name
        for name in frame.columns
        if name not in ("phase", "epoch", "phase_epoch", "learning_rate")
        and not name.startswith("val_")
    ]
    if metrics is None:
        metrics = known
    metrics = list(v.check_subset("metrics", metrics, known))
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False
    )
    axes = list(axes[0])
    phase_1 = frame[frame["phase"] == 1]
    for ax, name in zip(axes, metrics):
        for column, style in ((name, "-"), (f"val_{name}", "--")):
            if column in frame:
                ax.plot(frame["epoch"], frame[column], style, marker="o",
                        ms=3, label=column)  # fmt: skip
        if len(phase_1) and len(phase_1) < len(frame):
            ax.axvline(phase_1["epoch"].max() + 0.5, color="0.5", lw=1)
            ax.text(0.02, 0.97, "phase 1", transform=ax.transAxes,
                    va="top", color="0.4")  # fmt: skip
            ax.text(0.98, 0.97, "phase 2", transform=ax.transAxes,
                    va="top", ha="right", color="0.4")  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend(loc="center right")
    figure.suptitle(title or "Fine-tuning: head, then the top of the backbone")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return axes
