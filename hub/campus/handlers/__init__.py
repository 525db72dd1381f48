"""The campus REST API: every resource module's `default_handlers`, joined here."""

from . import accounts, info

default_handlers = [
    *info.default_handlers,
    *accounts.default_handlers,
]
