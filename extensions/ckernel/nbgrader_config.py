"""nbgrader settings for C notebooks.

nbgrader finds solution regions by substring, so `/* BEGIN SOLUTION */ ... /* END
SOLUTION */` and `// BEGIN SOLUTION ... // END SOLUTION` both work with its default
delimiters (likewise `BEGIN HIDDEN TESTS`). What it lacks is a code stub for the
language "c"; use it from an nbgrader_config.py:

    from nbcampus.ckernel.nbgrader_config import configure
    c = get_config()
    configure(c)

The stub is only a comment: the kernel turns "a function reached its end without
returning a value" into an error, so an untouched stub scores zero deterministically
instead of returning whatever was left in a register.
"""

from __future__ import annotations

from typing import Any

C_CODE_STUB = "/* YOUR CODE HERE */"
LANGUAGE = "c"


def code_stubs() -> dict[str, str]:
    """nbgrader's default stubs plus the one for C."""
    from nbgrader.preprocessors import ClearSolutions

    stubs = dict(ClearSolutions.class_traits()["code_stub"].default())
    stubs[LANGUAGE] = C_CODE_STUB
    return stubs


def configure(c: Any) -> Any:
    """Adds the C stub to an nbgrader traitlets config object and returns it."""
    c.ClearSolutions.code_stub = code_stubs()
    return c
