"""Packages: everything `find:` sees, plus the data folder `datasets/`
installed as the package `toolkit._datasets` (see setup.cfg package_dir)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(
        include=["toolkit", "toolkit.*", "recipes", "recipes.*"]
    )
    + ["toolkit._datasets"],
)
