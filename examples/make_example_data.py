"""Write the small data files the example configurations read, from the
shipped UCI digits (run once; the files are committed):

- `examples/data/digits.csv`: 600 digits, one row each: the 64 pixels
  `p0..p63` (counts 0..16) and the `digit` (0..9).
- `examples/data/digit_images/<zero|one|two>/<k>.png`: 15 8x8 grey PNGs
  of each of the digits 0, 1 and 2 (pixels scaled to 0..255).

Run:  python examples/make_example_data.py
"""

import pathlib

import numpy as np
import pandas as pd
import tensorflow as tf

from toolkit.data import load_digits

HERE = pathlib.Path(__file__).resolve().parent / "data"
NAMES = ("zero", "one", "two")


def main():
    x, y = load_digits(scale=False)
    rows = np.random.default_rng(0).permutation(len(x))[:600]
    table = pd.DataFrame(
        x[rows].astype("int32"), columns=[f"p{i}" for i in range(64)]
    )
    table["digit"] = y[rows]
    HERE.mkdir(exist_ok=True)
    table.to_csv(HERE / "digits.csv", index=False)
    images = x.reshape(-1, 8, 8, 1)
    for label, name in enumerate(NAMES):
        folder = HERE / "digit_images" / name
        folder.mkdir(parents=True, exist_ok=True)
        for k, index in enumerate(np.flatnonzero(y == label)[:15]):
            pixels = np.round(images[index] * 255.0 / 16.0).astype("uint8")
            png = tf.io.encode_png(pixels).numpy()
            (folder / f"{k:02d}.png").write_bytes(png)


if __name__ == "__main__":
    main()
