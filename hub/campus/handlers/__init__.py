"""The campus REST API: every resource module's `default_handlers`, joined here."""

from . import (
    accounts,
    admin,
    announcements,
    attendance,
    authoring,
    catalog,
    classes,
    courses,
    engagement,
    info,
    media,
    office,
    openapi,
    profile,
    progress,
    quizzes,
)

default_handlers = [
    *info.default_handlers,
    *accounts.default_handlers,
    *admin.default_handlers,
    *openapi.default_handlers,
    *catalog.default_handlers,
    *courses.default_handlers,
    *authoring.default_handlers,
    *classes.default_handlers,
    *office.default_handlers,
    *attendance.default_handlers,
    *progress.default_handlers,
    *quizzes.default_handlers,
    *media.default_handlers,
    *engagement.default_handlers,
    *announcements.default_handlers,
    *profile.default_handlers,
]
