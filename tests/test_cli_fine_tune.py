import numpy as np
import pandas as pd
import pytest

from recipes.cli import main


def _image_folder(root, classes=2, per_class=6, size=32):
    """`per_class` random 32x32 PNGs in one sub-folder per class, each
    class a different brightness."""
    import keras

    rng = np.random.default_rng(0)
    for label in range(classes):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.uniform(0, 100, (size, size, 3)) + 120 * label
            keras.utils.save_img(folder / f"{index}.png", pixels)
    return root


def test_fine_tune_writes_the_model_history_and_curves(tmp_path, capsys):
    import keras

    folder = _image_folder(tmp_path / "images")
    output = tmp_path / "run"
    code = main(
        [
            "fine-tune",
            str(folder),
            "--output",
            str(output),
            "--weights",
            "none",
            "--image-size",
            "32",
            "--validation-split",
            "0.25",
            "--batch-size",
            "4",
            "--phase1-epochs",
            "1",
            "--phase2-epochs",
            "1",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for name in ("model.keras", "history.csv", "curves.png"):
        assert (output / name).is_file()
        assert f"wrote {output / name}" in out
    history = pd.read_csv(output / "history.csv")
    assert list(history["phase"]) == [1, 2]
    assert "val_loss" in history
    model = keras.saving.load_model(output / "model.keras")
    assert model.output_shape == (None, 2)
    assert model.get_layer("backbone").input_shape == (None, 32, 32, 3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda root: root / "missing", "must be a folder"),
        (lambda root: _image_folder(root / "one", classes=1), "at least 2"),
    ],
)
def test_bad_folder_exits_non_zero_with_one_line(tmp_path, capsys, make, match):
    code = main(["fine-tune", str(make(tmp_path)), "--weights", "none"])
    assert code != 0
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1


def test_bad_validation_split_exits_non_zero(tmp_path, capsys):
    folder = _image_folder(tmp_path / "images")
    code = main(["fine-tune", str(folder), "--validation-split", "1.5"])
    assert code != 0
    assert "--validation-split must be in [0, 1)" in capsys.readouterr().err


def test_missing_weights_file_exits_non_zero_with_one_line(tmp_path, capsys):
    folder = _image_folder(tmp_path / "images")
    code = main(
        ["fine-tune", str(folder), "--weights", str(tmp_path / "no.h5")]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "weights" in err
    assert len(err.strip().splitlines()) == 1
