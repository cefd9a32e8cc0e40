"""stockdash: a self-hostable AI stock dashboard."""

__version__ = "0.1.0"
