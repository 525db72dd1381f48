"""Fixtures of the LTI suites (defined in lti_env, which the test modules import from)."""

from lti_env import lti  # noqa: F401 - a fixture, registered by being here
