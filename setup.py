"""Build shim: `setup.cfg` holds all the metadata.

`packages = find:` cannot see `toolkit._datasets`, the package that
`package_dir` maps to the top-level `datasets/` folder (not itself an
importable package), so it is added here; its files ship as package data.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(
        include=["toolkit", "toolkit.*", "recipes", "recipes.*"]
    )
    + ["toolkit._datasets"],
)
