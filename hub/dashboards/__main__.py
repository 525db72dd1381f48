"""`python -m nbcampus.hub.dashboards`: the dashboards service, started by the Hub."""

from nbcampus.imports import skip_unneeded_imports

skip_unneeded_imports()  # before Voila's Jupyter Server imports jsonschema

from nbcampus.hub.dashboards.app import main  # noqa: E402

main()
