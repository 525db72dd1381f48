"""Imports that every process of the campus can go without.

Jupyter Server's event system and nbformat validate their schemas with jsonschema, and
jsonschema imports `rfc3987_syntax` whenever it is installed, only to check "iri" string
formats, which no Jupyter, nbgrader or campus schema uses. Importing it compiles some thirty
Earley parsers: about 1 s of CPU in every process that touches jsonschema (the Hub, the grader,
the dashboards, each student's server), more than half of what a student server's start costs.
Marking the module absent makes jsonschema skip that one format check (it treats the module as
optional); nothing else changes.
"""

from __future__ import annotations

import sys

# Modules whose import jsonschema guards as optional, and that no campus process needs.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def skip_unneeded_imports() -> None:
    """Call first thing in a process's entry point, before anything imports jsonschema."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not importable"
