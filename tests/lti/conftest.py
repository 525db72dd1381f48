"""Fixtures of the LTI suites (defined in lti_env and lti11_course; registered by being here).

A module's own `platform` or `store` fixture (test_lti_validators) takes precedence."""

from lti11_course import platform, store  # noqa: F401
from lti_env import lti  # noqa: F401
