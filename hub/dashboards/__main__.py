"""`python -m nbcampus.hub.dashboards`: the dashboards service, started by the Hub."""

from nbcampus.hub.dashboards.app import main

main()
