"""The container suite's fixtures live in fixtures.py (shared with the benchmark's helpers)."""

from .fixtures import docker, engine, hub_image, student_image  # noqa: F401 - pytest fixtures
