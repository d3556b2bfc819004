"""FMAR: the Flexibility Market Asset Registration registry."""

__version__ = "0.1.0"
