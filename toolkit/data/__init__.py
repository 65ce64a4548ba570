"""Seeded task generators and readers of the data the project ships."""

from toolkit.data.digits import digits_split, load_digits, shipped_path
from toolkit.data.long_term import adding_problem, copy_memory

__all__ = ["adding_problem", "copy_memory"]
__all__ += ["digits_split", "load_digits", "shipped_path"]
