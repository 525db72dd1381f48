"""The Hub's own process: `jupyterhub`, started without the imports no campus process needs
(nbcampus/imports.py).

    python -m nbcampus.hub_process [jupyterhub options]
"""

from __future__ import annotations

import sys

from nbcampus.imports import skip_unneeded_imports


def main() -> None:
    skip_unneeded_imports()
    from jupyterhub.app import main as jupyterhub_main

    jupyterhub_main()


if __name__ == "__main__":
    sys.exit(main())
