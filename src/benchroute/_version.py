"""The package version: the single source, read by setuptools at build time
(``[tool.setuptools.dynamic]`` in pyproject.toml) and stored in every run record."""

__version__ = "0.1.0"
