"""Fixtures of the container suite: the engine and the images (built on first use, cached).

A fresh machine builds the images in a few minutes; afterwards `nbcampus images build` takes
seconds. With CI=true a missing engine or a failed build fails loudly, never skips.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def engine() -> Any:
    from harness.ci import unavailable

    from nbcampus.engine import EngineError, find_engine

    try:
        return find_engine()
    except EngineError as err:
        unavailable(f"no container engine: {err}")


@pytest.fixture(scope="session")
def docker(engine: Any) -> Any:
    from nbcampus.engine import docker_client

    return docker_client(engine)


@pytest.fixture(scope="session")
def student_image(engine: Any) -> str:
    """The student image, built now if missing or out of date (cached layers otherwise)."""
    from harness.ci import unavailable

    from nbcampus.images import STUDENT_TAG, ImageBuildError, build_all

    try:
        build_all(log=lambda line: print(line, flush=True), hub=False)
    except ImageBuildError as err:
        unavailable(f"the images do not build: {err}")
    return STUDENT_TAG


@pytest.fixture(scope="session")
def hub_image(student_image: str) -> str:
    """The kubernetes profile's Hub image, built here on the student image (cached)."""
    from harness.ci import unavailable

    from nbcampus.images import HUB_TAG, ImageBuildError, build_all

    try:
        build_all(log=lambda line: print(line, flush=True))
    except ImageBuildError as err:
        unavailable(f"the Hub image does not build: {err}")
    return HUB_TAG
