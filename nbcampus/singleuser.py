"""A student's Jupyter server: `jupyterhub-singleuser`, started without its slowest import
(see nbcampus/imports.py: about 1 s of CPU of a server start that twenty students logging in
at once on a small machine would pay twenty times over).

    python -m nbcampus.singleuser [jupyterhub-singleuser options]
"""

from __future__ import annotations

import sys

from nbcampus.imports import skip_unneeded_imports


def main() -> int | None:
    skip_unneeded_imports()
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main()


if __name__ == "__main__":
    sys.exit(main())
