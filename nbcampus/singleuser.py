"""A student's Jupyter server: `jupyterhub-singleuser`, started without its slowest import.

    python -m nbcampus.singleuser [jupyterhub-singleuser options]

Jupyter Server's event system validates its schemas with jsonschema, and jsonschema imports
`rfc3987_syntax` whenever it is installed, only to check "iri" string formats, which no Jupyter
event schema uses. Importing it builds a full RFC 3987 grammar: about 2 s of CPU, more than
half of what a server start costs. Twenty students logging in at once on a small machine
wait for that forty times over. Marking the module absent makes jsonschema skip that one
format check (it treats the module as optional); everything else is the stock server.
"""

from __future__ import annotations

import sys

# Modules whose import jsonschema guards as optional, and that a Jupyter server never needs.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def main() -> int | None:
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not importable"
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main()


if __name__ == "__main__":
    sys.exit(main())
