"""Seeded task generators and readers of the data the project ships."""

from toolkit.data.chaotic import mackey_glass, narma
from toolkit.data.digits import digits_split, load_digits, shipped_path
from toolkit.data.long_term import adding_problem, copy_memory
from toolkit.data.series import sunspots

__all__ = [
    "adding_problem",
    "copy_memory",
    "digits_split",
    "load_digits",
    "mackey_glass",
    "narma",
    "shipped_path",
    "sunspots",
]
