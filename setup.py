"""Package map for setuptools: each import name under `nbcampus` and the folder it lives in.

Every folder below a mapped folder that has an `__init__.py` is a package; nothing needs to be
listed by hand, so a new subpackage cannot be forgotten (or listed before it exists).
"""

from pathlib import Path

from setuptools import setup

PACKAGE_DIRS = {
    "nbcampus": "nbcampus",
    "nbcampus.hub": "hub",
    "nbcampus.grader": "grader",
    "nbcampus.ckernel": "extensions/ckernel",
    "nbcampus.lab": "extensions/lab/nbcampus_lab",
}
SKIP = {"node_modules", "__pycache__", "lib", "labextension"}


def find_packages() -> list[str]:
    here = Path(__file__).parent
    packages = []
    for name, folder in PACKAGE_DIRS.items():
        root = here / folder
        if not (root / "__init__.py").exists():
            continue
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if SKIP.intersection(rel.parts):
                continue
            packages.append(".".join([name, *rel.parts]) if rel.parts else name)
    return sorted(packages)


setup(
    package_dir={name: folder for name, folder in PACKAGE_DIRS.items()},
    packages=find_packages(),
)
