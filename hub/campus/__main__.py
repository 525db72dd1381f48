"""`python -m nbcampus.hub.campus`: the campus service, started by the Hub."""

from nbcampus.imports import skip_unneeded_imports

skip_unneeded_imports()  # before anything imports jsonschema (nbcampus/imports.py)

from .app import main  # noqa: E402

main()
