"""Print pyproject.toml's [project] dependencies, one per line (a pip requirements file)."""

import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
