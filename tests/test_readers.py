import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from recipes import build_mlp_classifier, build_sequence_regressor, cli
from toolkit.data import (
    check_data,
    check_fits_model,
    check_source,
    make_windows,
    read_image_folder,
    read_npz,
    read_source,
    read_table,
    read_text_lines,
    split_validation,
)
from toolkit.training import lr_range_test
from toolkit.tuning import config as sweep_config
from toolkit.tuning import sweep

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _table(tmp_path, name="t.csv", **columns):
    frame = pd.DataFrame(
        columns
        or {
            "size": [1.0, 2.0, 3.0, 4.0],
            "colour": ["red", "blue", "red", "green"],
            "label": ["cat", "dog", "dog", "cat"],
        }
    )
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def test_read_table_encodes_categories_as_pandas_does(tmp_path):
    path = _table(tmp_path)
    x, y, info = read_table(path, "label")
    frame = pd.read_csv(path)
    expected = pd.get_dummies(frame[["size", "colour"]], prefix_sep="=")
    assert info["features"] == list(expected.columns)
    np.testing.assert_array_equal(x, expected.to_numpy(dtype="float32"))
    assert info["classes"] == ["cat", "dog"]
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert info["categories"]["colour"] == ["blue", "green", "red"]
    codes, _, coded = read_table(path, "label", encoding="integer")
    assert coded["features"] == ["size", "colour"]
    np.testing.assert_array_equal(codes[:, 1], [2, 0, 2, 1])


def test_read_table_parquet_time_index_and_numeric_targets(tmp_path):
    path = _table(
        tmp_path,
        "s.parquet",
        year=[2003, 2001, 2002],
        a=[3.0, 1.0, 2.0],
        b=[30, 10, 20],
    )
    x, y, info = read_table(
        path, ["a", "b"], time_index="year", target_as_feature=True
    )
    np.testing.assert_array_equal(info["index"], [2001, 2002, 2003])
    np.testing.assert_array_equal(y, [[1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(x, y)
    x, y, info = read_table(path, "b", time_index="year")
    np.testing.assert_array_equal(x[:, 0], [1.0, 2.0, 3.0])
    assert y.dtype == np.int32 and list(y) == [10, 20, 30]
    assert info["classes"] is None


def test_read_npz_and_text_lines(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(6.0).reshape(3, 2), y=[1, 0, 1])
    x, y, info = read_npz(tmp_path / "d.npz")
    assert x.dtype == np.float32 and x.shape == (3, 2)
    assert info["keys"] == ["x", "y"]
    (tmp_path / "t.txt").write_text("good\ta fine film\n\nbad\ta dull one\n")
    texts, y, info = read_text_lines(tmp_path / "t.txt")
    assert texts == ["a fine film", "a dull one"]
    assert info["classes"] == ["bad", "good"] and list(y) == [1, 0]
    assert info["lines"] == [1, 3]


def _images(tmp_path, classes=("a", "b"), count=3, size=(4, 5)):
    rng = np.random.default_rng(0)
    pixels = {}
    for name in classes:
        (tmp_path / "img" / name).mkdir(parents=True)
        for k in range(count):
            image = rng.integers(0, 256, (*size, 1), dtype=np.uint8)
            pixels[(name, k)] = image
            png = tf.io.encode_png(image).numpy()
            (tmp_path / "img" / name / f"{k}.png").write_bytes(png)
    return tmp_path / "img", pixels


def test_read_image_folder_returns_the_pixels_written(tmp_path):
    folder, pixels = _images(tmp_path)
    x, y, info = read_image_folder(folder)
    assert info["classes"] == ["a", "b"] and list(y) == [0, 0, 0, 1, 1, 1]
    assert x.shape == (6, 4, 5, 1)
    np.testing.assert_allclose(x[4], pixels[("b", 1)] / 255.0, rtol=1e-6)


def test_make_windows_matches_a_loop():
    rng = np.random.default_rng(0)
    series, targets = rng.normal(size=(20, 2)), rng.normal(size=20)
    x, y = make_windows(series, targets, lookback=4, horizon=3, stride=2)
    starts = range(0, 20 - 4 - 3 + 1, 2)
    np.testing.assert_array_equal(x, [series[s : s + 4] for s in starts])
    np.testing.assert_array_equal(y, [targets[s + 3 + 3] for s in starts])
    x, y = make_windows(np.arange(6.0), lookback=2)
    assert x.shape == (4, 2, 1) and list(y[:, 0]) == [2, 3, 4, 5]


def test_split_validation_holds_out_the_fraction():
    x, y = np.arange(10), np.arange(10) * 2
    (tx, ty), (vx, vy) = split_validation([x, y], 0.3, seed=1)
    assert len(vx) == 3 and sorted([*tx, *vx]) == list(range(10))
    np.testing.assert_array_equal(ty, tx * 2)
    (tx, _), (vx, _) = split_validation([x, y], 0.3, shuffle=False)
    assert list(vx) == [7, 8, 9]


def test_check_source_reads_paths_from_the_base_folder(tmp_path):
    _table(tmp_path, "train.csv")
    _table(tmp_path, "val.csv")
    source = check_source(
        {"path": "train.csv", "target": "label", "validation": "val.csv"},
        base_dir=tmp_path,
    )
    assert source["path"] == str((tmp_path / "train.csv").resolve())
    (x, y), (x_val, y_val), info = read_source(source)
    np.testing.assert_array_equal(x, x_val)
    assert info["num_classes"] == 2


def test_validation_column_and_windows(tmp_path):
    _table(
        tmp_path,
        split=["train", "train", "validation", "train", "val", "train"],
        a=[10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        v=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )
    source = check_source(
        {"path": "t.csv", "target": "v", "validation": {"column": "split"}},
        base_dir=tmp_path,
    )
    (x, y), (x_val, y_val), info = read_source(source)
    assert list(y_val) == [3.0, 5.0] and list(y) == [1.0, 2.0, 4.0, 6.0]
    np.testing.assert_array_equal(x[:, 0], y * 10)
    source = check_source(
        {"path": "t.csv", "target": "v", "lookback": 2, "validation": 0.5},
        base_dir=tmp_path,
    )
    _table(tmp_path, v=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    (x, y), (x_val, y_val), _ = read_source(source)
    # In time: rows 1-4 train, 5-8 validation, each cut into windows.
    np.testing.assert_array_equal(x[:, :, 0], [[1, 2], [2, 3]])
    np.testing.assert_array_equal(y, [3, 4])
    np.testing.assert_array_equal(y_val, [7, 8])


def _config_file(tmp_path, data, **changes):
    config = {
        "recipe": "mlp_classifier",
        "data": data,
        "space": [{"learning_rate": {}}],
        "fixed": {"hidden_units": [4]},
        "max_trials": 1,
        "epochs": 1,
        "directory": "out",
        "project_name": "p",
        "seed": 0,
        "plots": False,
        **changes,
    }
    folder = tmp_path / "configs"
    folder.mkdir(exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_paths_are_relative_to_the_config_file(tmp_path):
    _table(tmp_path)
    path = _config_file(tmp_path, "../t.csv", data_options={"target": "label"})
    config = sweep_config.load_config(path)
    assert config["data"]["path"] == str((tmp_path / "t.csv").resolve())
    assert config["directory"] == str((tmp_path / "configs" / "out"))
    assert config["config_path"] == str(path.resolve())
    assert sweep_config.check_config(config)["data"] == config["data"]
    assert sweep_config.describe_data(config) == (
        f"{tmp_path.resolve() / 't.csv'} (csv, target label, 0.2 held out)"
    )
    assert sweep_config.describe_data({"data": "digits"}) == "digits"
    path = _config_file(
        tmp_path,
        "../t.csv",
        project_name=None,
        data_options={"target": "label"},
    )
    config = sweep_config.load_config(path)
    assert config["project_name"] == "mlp_classifier_t"


@pytest.mark.parametrize("example", ["sweep_csv.yaml", "sweep_images.yaml"])
def test_examples_run_from_another_folder(tmp_path, monkeypatch, example):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES / "data", copy / "data")
    config = yaml.safe_load((EXAMPLES / example).read_text())
    config.update(max_trials=1, epochs=2, plots=False)
    config["directory"] = str(tmp_path / "sweeps")
    (copy / example).write_text(yaml.safe_dump(config))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli.main(["sweep", str(copy / example)]) == 0
    frame = pd.read_csv(
        tmp_path / "sweeps" / config["project_name"] / "trials.csv"
    )
    assert list(frame["status"]) == ["completed"]
    assert np.isfinite(frame["best_val_loss"]).all()


def _nan_data():
    x = np.ones((8, 3), "float32")
    x[5, 2] = np.nan
    x[6, 0] = np.inf
    return x, np.zeros(8, "int32")


def _lr_test_nan():
    model = build_mlp_classifier((3,), 2, hidden_units=[2])
    return lr_range_test(model, *_nan_data(), batch_size=4, steps=2)


def _sweep(tmp_path, data, validation=None):
    return sweep(
        build_mlp_classifier,
        data,
        validation_data=validation,
        fixed={"input_shape": (3,), "num_classes": 2},
        max_trials=1,
        epochs=1,
        directory=str(tmp_path),
    )


def _fit(tmp_path, rows, fixed=None, **source):
    pd.DataFrame(rows).to_csv(tmp_path / "f.csv", index=False)
    config = sweep_config.check_config(
        {
            "recipe": "mlp_classifier",
            "data": {"path": "f.csv", "validation": 0.25, **source},
            "fixed": fixed or {},
        },
        base_dir=tmp_path,
    )
    train, validation, info = read_source(config["data"])
    return sweep_config.fit_recipe_to_data(
        build_mlp_classifier, config["fixed"], train, info, validation
    )


ROWS = {"a": [0.1, 0.2, 0.3, 0.4], "y": [0, 1, 2, 3]}

ERRORS = [
    (
        ValueError,
        r"no column 'labl' in t.csv; its columns are \['size', 'colour', "
        "'label'\\]",
        lambda tmp: read_table(_table(tmp), "labl"),
    ),
    (
        ValueError,
        "`features`: no column 'weight'",
        lambda tmp: read_table(_table(tmp), "label", features=["weight"]),
    ),
    (
        ValueError,
        r"has 2 missing value\(s\) in the columns used; the first in row 1 "
        r"\(line 3 of a CSV with a header\), column 'a'",
        lambda tmp: read_table(
            _table(tmp, a=[1.0, None, 3.0, None], y=[0, 1, 0, 1]), "y"
        ),
    ),
    (
        ValueError,
        r"has 1 infinite value\(s\); the first in row 2, column 'a'",
        lambda tmp: read_table(
            _table(tmp, a=[1.0, 2.0, np.inf], y=[0, 1, 0]), "y"
        ),
    ),
    (
        ValueError,
        "has only its header",
        lambda tmp: read_table(_table(tmp, a=[], y=[]), "y"),
    ),
    (
        ValueError,
        "column 'colour' of t.csv is not numeric",
        lambda tmp: read_table(_table(tmp), "label", categorical=[]),
    ),
    (
        ValueError,
        "the value 'purple', not among the categories",
        lambda tmp: read_table(
            _table(tmp, colour=["purple"], label=["cat"]),
            "label",
            categories={"colour": ["red"]},
        ),
    ),
    (
        ValueError,
        "`target` must name the target column",
        lambda tmp: read_table(_table(tmp), []),
    ),
    (
        ValueError,
        "has no feature columns besides",
        lambda tmp: read_table(_table(tmp, y=[1, 2]), "y"),
    ),
    (
        ValueError,
        "several targets must all be numbers",
        lambda tmp: read_table(_table(tmp), ["size", "label"]),
    ),
    (
        ValueError,
        "cannot tell the format of t.dat",
        lambda tmp: read_table(_table(tmp, "t.dat"), "label"),
    ),
    (
        FileNotFoundError,
        "`path` must name a file",
        lambda tmp: read_table(tmp / "none.csv", "y"),
    ),
    (
        ValueError,
        r"`y`: d.npz has no array 'labels'; its arrays are \['x', 'y'\]",
        lambda tmp: (
            np.savez(tmp / "d.npz", x=[1], y=[1]),
            read_npz(tmp / "d.npz", y="labels"),
        ),
    ),
    (
        ValueError,
        "at least two",
        lambda tmp: read_image_folder(_images(tmp, classes=("a",))[0]),
    ),
    (
        FileNotFoundError,
        "one sub-folder of images per class",
        lambda tmp: read_image_folder(tmp / "none"),
    ),
    (
        ValueError,
        "the class folder 'b' has no images",
        lambda tmp: read_image_folder(
            (_images(tmp, classes=("a",)), (tmp / "img" / "b").mkdir())
            and tmp / "img"
        ),
    ),
    (
        ValueError,
        "give `image_size` to resize them all",
        lambda tmp: (
            _images(tmp, classes=("a",)),
            _images(tmp / "more", classes=("b",), size=(3, 3)),
            shutil.move(tmp / "more" / "img" / "b", tmp / "img" / "b"),
            read_image_folder(tmp / "img"),
        ),
    ),
    (
        ValueError,
        r"line 2 of t.txt has no '\\t'",
        lambda tmp: (
            (tmp / "t.txt").write_text("a\tok\nno label\n"),
            read_text_lines(tmp / "t.txt"),
        ),
    ),
    (
        ValueError,
        "at least one example line",
        lambda tmp: (
            (tmp / "t.txt").write_text("\n\n"),
            read_text_lines(tmp / "t.txt"),
        ),
    ),
    (
        ValueError,
        "has the label 'meh', not among",
        lambda tmp: (
            (tmp / "t.txt").write_text("meh\tso so\n"),
            read_text_lines(tmp / "t.txt", classes=["bad", "good"]),
        ),
    ),
    (
        ValueError,
        "`lookback` and `horizon` need at least 6 steps",
        lambda tmp: make_windows(np.arange(5.0), lookback=5),
    ),
    (
        ValueError,
        "`x` and `y` must have as many steps",
        lambda tmp: make_windows(np.arange(5.0), np.arange(4.0), lookback=2),
    ),
    (
        ValueError,
        "leaves an empty split: 2 training and 0 validation",
        lambda tmp: split_validation([np.arange(2)], 0.1),
    ),
    (
        ValueError,
        "column 'split' must mark rows",
        lambda tmp: read_source(
            check_source(
                {
                    "path": str(_table(tmp, a=[1], y=[1], split=["maybe"])),
                    "target": "y",
                    "validation": {"column": "split"},
                }
            )
        ),
    ),
    # Data sources in a configuration.
    (
        ValueError,
        r"unknown keys \['lable'\]",
        lambda tmp: check_source({"path": str(_table(tmp)), "lable": "y"}),
    ),
    (
        ValueError,
        r"the keys \['target'\] do not apply to images data",
        lambda tmp: check_source({"path": str(tmp), "target": "y"}),
    ),
    (
        ValueError,
        "must name the `target` column",
        lambda tmp: check_source({"path": str(_table(tmp))}),
    ),
    (
        ValueError,
        "must have a `path`",
        lambda tmp: check_source({"target": "y"}),
    ),
    (
        FileNotFoundError,
        "there is none at .*none.csv",
        lambda tmp: check_source("none.csv", base_dir=tmp),
    ),
    (
        ValueError,
        "a sweep scores its trials on it",
        lambda tmp: check_source(
            {"path": str(_table(tmp)), "target": "y", "validation": None}
        ),
    ),
    (
        ValueError,
        r"`validation` must be a number in \(0, 1\)",
        lambda tmp: check_source(
            {"path": str(_table(tmp)), "target": "y", "validation": 1.5}
        ),
    ),
    (
        ValueError,
        r"\{column: <name>\} \(tables only\)",
        lambda tmp: check_source(
            {"path": str(_table(tmp)), "target": "y", "validation": [1]}
        ),
    ),
    (
        ValueError,
        "`shuffle` must be true or false",
        lambda tmp: check_source(
            {"path": str(_table(tmp)), "target": "y", "shuffle": "no"}
        ),
    ),
    (
        ValueError,
        "must be a shipped data set's name, a path, or a mapping",
        lambda tmp: check_source(3),
    ),
    (
        ValueError,
        "validation folder's classes",
        lambda tmp: read_source(
            check_source(
                {
                    "path": str(_images(tmp)[0]),
                    "validation": str(
                        _images(tmp / "v", classes=("a", "c"))[0]
                    ),
                }
            )
        ),
    ),
    (
        ValueError,
        "`data` must be one of .*a path to a data file",
        lambda tmp: sweep_config.check_config(
            {"recipe": "mlp_classifier", "data": "mnist"}
        ),
    ),
    # Checks of the arrays, wherever they come from.
    (
        ValueError,
        r"`data` must be finite: 2 NaN or infinite value\(s\) in x; the "
        r"first at row 5, position \(2,\)",
        lambda tmp: check_data(_nan_data()),
    ),
    (
        ValueError,
        r"`data` must be finite: 2 NaN or infinite value\(s\) in x",
        lambda tmp: _sweep(tmp, _nan_data()),
    ),
    (
        ValueError,
        "`validation_data` must not be empty: x has no samples",
        lambda tmp: _sweep(
            tmp, (np.ones((4, 3)), np.zeros(4)), (np.ones((0, 3)), [])
        ),
    ),
    (
        ValueError,
        r"`x` must be finite: 2 NaN or infinite value\(s\) in x",
        lambda tmp: _lr_test_nan(),
    ),
    (
        ValueError,
        "`data` must be numeric: x has dtype <U1",
        lambda tmp: check_data((np.array(["a", "b"]), np.zeros(2))),
    ),
    (
        ValueError,
        "as many samples in each part",
        lambda tmp: check_data((np.zeros((3, 2)), np.zeros(2))),
    ),
    (
        ValueError,
        r"x\['b'\] has no samples",
        lambda tmp: check_data(({"a": np.zeros(2), "b": np.zeros(0)}, None)),
    ),
    # Data against the recipe's model.
    (
        ValueError,
        r"targets must be class ids 0..9 for the loss "
        r"sparse_categorical_crossentropy, but some are not integers "
        r"\(the first at row 1: 0.5\)",
        lambda tmp: check_fits_model(
            build_mlp_classifier((2,)), np.zeros((3, 2)), [1.0, 0.5, 2.0]
        ),
    ),
    (
        ValueError,
        r"class ids 0..2 \(the model has num_classes=3\), but they range "
        r"over .*Set `num_classes` to at least 4",
        lambda tmp: _fit(tmp, ROWS, fixed={"num_classes": 3}, target="y"),
    ),
    (
        ValueError,
        r"but some are not integers",
        lambda tmp: _fit(
            tmp, {"a": ROWS["a"], "y": [0.5, 1.0, 2.0, 3.0]}, target="y"
        ),
    ),
    (
        ValueError,
        r"takes inputs of shape \(None, 5\) but x has shape \(3, 1\)",
        lambda tmp: _fit(tmp, ROWS, fixed={"input_shape": [5]}, target="y"),
    ),
    (
        ValueError,
        r"output has shape \(None, 1\) and its loss mse needs targets of "
        r"that shape. Received: y of shape \(3, 2\)",
        lambda tmp: check_fits_model(
            build_sequence_regressor(4, 1, units=2),
            np.zeros((3, 4, 1)),
            np.zeros((3, 2)),
        ),
    ),
    (
        ValueError,
        r"lacks the model's inputs \['image'\]",
        lambda tmp: check_fits_model(
            build_mlp_classifier((2,)), {"pixels": np.zeros((3, 2))}, None
        ),
    ),
]


def _groups(size=12):
    return [ERRORS[i : i + size] for i in range(0, len(ERRORS), size)]


# Grouped (each case still raises on its own, in a folder of its own):
# one test per case would spend most of its time in the seeding fixture.
@pytest.mark.parametrize("group", range(len(_groups())))
def test_errors(tmp_path, group):
    for number, (error, match, call) in enumerate(_groups()[group]):
        folder = tmp_path / str(number)
        folder.mkdir()
        with pytest.raises(error, match=match):
            call(folder)


def test_check_data_takes_sequences_of_their_own_lengths():
    sequences = [np.zeros((5, 2)), np.zeros((3, 2))]
    targets = [np.zeros((5, 1)), np.zeros((3, 1))]
    assert check_data((sequences, targets))[0] is sequences
    sequences[1][2, 0] = np.nan
    with pytest.raises(ValueError, match=r"in x\[1\]; the first at row 2"):
        check_data((sequences, targets))


def test_recipe_arguments_come_from_the_data(tmp_path):
    fixed = _fit(tmp_path, ROWS, target="y", validation=0.5)
    assert fixed == {"input_shape": (1,), "num_classes": 4}
    parquet = pytest.importorskip("pyarrow")
    assert parquet is not None


def test_parquet_without_pyarrow_says_how_to_get_it(tmp_path, monkeypatch):
    path = _table(tmp_path, "t.parquet")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        read_table(path, "label")


def test_text_lines_become_tree_inputs_of_the_tree_classifier(tmp_path):
    from recipes import build_tree_classifier

    lines = ["good\ta fine film", "bad\ta dull film", "good\tfine"] * 3
    (tmp_path / "t.txt").write_text("\n".join(lines))
    source = check_source({"path": "t.txt", "validation": 0.3}, tmp_path)
    train, validation, info = read_source(source)
    fixed = sweep_config.fit_recipe_to_data(
        build_tree_classifier, {"units": 4}, train, info, validation
    )
    # [PAD], [UNK], a, film, fine, dull (or fewer in a small training part)
    assert fixed["vocabulary_size"] == len(info["vocabulary"])
    assert fixed["num_classes"] == 2
    assert train[0]["tokens"].shape[1] == validation[0]["tokens"].shape[1]


def test_windows_of_a_series_fit_the_sequence_regressor(tmp_path):
    from toolkit.data import sunspots

    years, values = sunspots()
    pd.DataFrame({"year": years, "spots": values[:, 0]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    source = check_source(
        {
            "path": "s.csv",
            "target": "spots",
            "time_index": "year",
            "lookback": 12,
            "validation": 0.2,
        },
        tmp_path,
    )
    train, validation, info = read_source(source)
    fixed = sweep_config.fit_recipe_to_data(
        build_sequence_regressor, {"units": 2}, train, info, validation
    )
    assert fixed == {"units": 2, "timesteps": 12, "features": 1, "outputs": 1}
    cut = 309 - round(0.2 * 309)
    np.testing.assert_allclose(train[0][0, :, 0], values[:12, 0])
    np.testing.assert_allclose(train[1][0], values[12, 0])
    np.testing.assert_allclose(
        validation[0][0, :, 0], values[cut : cut + 12, 0]
    )


def test_a_table_as_one_series_for_an_esn(tmp_path):
    rows = {"t": [5, 4, 3, 2, 1, 0, 6, 7], "v": np.arange(8.0) ** 2}
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    config = sweep_config.check_config(
        {
            "recipe": "esn",
            "data": {
                "path": "s.csv",
                "target": "v",
                "time_index": "t",
                "horizon": 2,
                "validation": 0.5,
            },
        },
        base_dir=tmp_path,
    )
    assert config["objective"] == "val_nrmse"
    (x, y), (x_val, y_val), _ = read_source(config["data"], series=True)
    ordered = np.array([25, 16, 9, 4, 1, 0, 36, 49], "float32")
    np.testing.assert_array_equal(x[:, 0], ordered[:2])
    np.testing.assert_array_equal(y[:, 0], ordered[2:4])
    np.testing.assert_array_equal(x_val[:, 0], ordered[4:6])
    np.testing.assert_array_equal(y_val[:, 0], ordered[6:8])
    with pytest.raises(ValueError, match="row by row, without `lookback`"):
        read_source({**config["data"], "lookback": 2}, series=True)
    with pytest.raises(ValueError, match="leaves no inputs 4 rows ahead"):
        read_source({**config["data"], "horizon": 4}, series=True)
