"""Seeded task generators and readers of the data the project ships."""

from toolkit.data.chaotic import mackey_glass, narma
from toolkit.data.long_term import adding_problem, copy_memory
from toolkit.data.series import sunspots

__all__ = [
    "adding_problem",
    "copy_memory",
    "mackey_glass",
    "narma",
    "sunspots",
]
