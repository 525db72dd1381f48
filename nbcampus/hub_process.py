"""The Hub's own process: `jupyterhub`, started without the imports no campus process needs
(nbcampus/imports.py), its managed services started all at once (hub/managed_services.py).

    python -m nbcampus.hub_process [jupyterhub options]
"""

from __future__ import annotations

import sys

from nbcampus.imports import skip_unneeded_imports


def main() -> None:
    skip_unneeded_imports()
    from nbcampus.hub.managed_services import CampusJupyterHub

    CampusJupyterHub.launch_instance()


if __name__ == "__main__":
    sys.exit(main())
