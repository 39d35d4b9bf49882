"""critmin: decision support for securing critical-mineral supply between allied governments."""

__version__ = "0.1.0"
