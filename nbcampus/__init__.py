"""nbcampus: a notebook campus on JupyterHub."""

__version__ = "0.1.0"
