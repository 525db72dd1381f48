"""The school office in the browser: Hub pages for staff (classes, enrollment, credits,
attendance, payments), with the campus API underneath through a relay on the Hub."""

from __future__ import annotations


def page_handlers() -> list[tuple[str, type]]:
    from .pages import ClassesPage, ClassPage, OfficeHome
    from .relay import OfficeAPIRelay

    return [
        (r"/office/?", OfficeHome),
        (r"/office/classes", ClassesPage),
        (r"/office/classes/([0-9]{1,10})", ClassPage),
        (r"/office/api/(.+)", OfficeAPIRelay),
    ]
