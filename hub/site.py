"""The school's identity on its public pages: name, welcome text, colour, and where a
signed-in person goes from `/`. The logo is the Hub's own `c.JupyterHub.logo_file` (by
default `logo.png` or `logo.svg` in the data directory, see jupyterhub_config.py), shown in
the navigation bar of every Hub page and on the landing page.

Configure as `c.CampusSite.school_name = "..."` in the data directory's
`jupyterhub_config_extra.py`.
"""

from __future__ import annotations

import re
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker
from traitlets import Bool, TraitError, Unicode, validate
from traitlets.config import Configurable

from nbcampus.db import make_engine, session_factory

# A CSS colour the page may put in a style attribute without escaping anything.
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-z]{3,20})$")


class CampusSite(Configurable):
    """What visitors see at the front door (the landing page, the catalog, course pages)."""

    school_name = Unicode(
        "nbcampus",
        help="""The school's name: the landing page's title, and the sender name of the
        campus's mail.""",
    ).tag(config=True)

    welcome_text = Unicode(
        "Learn by doing: notebooks with exercises graded as you go, in classes with real teachers.",
        help="""The welcome paragraph under the school's name on the landing page (plain
        text; blank lines separate paragraphs).""",
    ).tag(config=True)

    primary_color = Unicode(
        "#f37726",
        help="""The school's colour (a CSS hex colour such as #1f6feb, or a colour name):
        the landing page's banner and buttons. Light and dark mode both use it.""",
    ).tag(config=True)

    signed_in_to_lab = Bool(
        True,
        help="""A signed-in person who opens `/` goes straight to their JupyterLab (the
        Hub's own behaviour). False: they see the landing page too, with a link to their
        Lab.""",
    ).tag(config=True)

    public_url = Unicode(
        "",
        help="""The campus's public URL, base path included (e.g. https://campus.example/):
        the address in mailed links. Set by nbcampus from NBCAMPUS_BIND_URL; never taken
        from a request's Host header.""",
    ).tag(config=True)

    db_url = Unicode(
        help="""SQLAlchemy URL of the campus database, where the catalog is read. Set by
        nbcampus from NBCAMPUS_DB_URL (or the data directory).""",
    ).tag(config=True)

    @validate("primary_color")
    def _check_colour(self, proposal: dict[str, str]) -> str:
        value = proposal["value"].strip()
        if not _COLOUR.fullmatch(value):
            raise TraitError(f"CampusSite.primary_color: not a CSS colour: {value!r}")
        return value

    @property
    def welcome_paragraphs(self) -> list[str]:
        return [p.strip() for p in self.welcome_text.split("\n\n") if p.strip()]

    @cached_property
    def db(self) -> sessionmaker[Session]:
        return session_factory(make_engine(self.db_url))
