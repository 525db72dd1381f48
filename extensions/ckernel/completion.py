"""Completion, inspection and is_complete for C cells."""

from __future__ import annotations

import re

from . import cparse
from .program import Program

# A short table of the standard library a first C course uses.
STANDARD_LIBRARY: dict[str, tuple[str, ...]] = {
    "stdio.h": tuple(
        """printf scanf puts putchar getchar fgets fputs fopen fclose fprintf fscanf sprintf
        snprintf sscanf fgetc fputc getc putc fflush fread fwrite perror remove rename feof
        ferror rewind fseek ftell EOF NULL stdin stdout stderr FILE BUFSIZ""".split()
    ),
    "stdlib.h": tuple(
        """malloc calloc realloc free exit atoi atof atol strtol strtoul strtod rand srand
        abs labs qsort bsearch getenv system EXIT_SUCCESS EXIT_FAILURE RAND_MAX""".split()
    ),
    "string.h": tuple(
        """strlen strcpy strncpy strcat strncat strcmp strncmp strchr strrchr strstr strtok
        memcpy memmove memset memcmp strdup""".split()
    ),
    "math.h": tuple(
        """sqrt pow fabs floor ceil round trunc sin cos tan asin acos atan atan2 exp log log2
        log10 fmod hypot fmin fmax M_PI INFINITY NAN isnan isinf""".split()
    ),
    "ctype.h": tuple(
        "isalpha isdigit isalnum isspace isupper islower ispunct toupper tolower".split()
    ),
    "assert.h": ("assert",),
    "stdbool.h": ("bool", "true", "false"),
    "limits.h": tuple("INT_MAX INT_MIN UINT_MAX LONG_MAX LONG_MIN CHAR_BIT CHAR_MAX".split()),
    "time.h": ("time", "clock", "difftime", "CLOCKS_PER_SEC", "time_t", "clock_t"),
    "stdint.h": tuple(
        """int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t INT32_MAX
        INT64_MAX UINT32_MAX""".split()
    ),
}
_HEADERS = sorted(STANDARD_LIBRARY) + ["stddef.h", "stdarg.h", "float.h", "errno.h", "signal.h"]
_WORD_BEFORE = re.compile(r"[A-Za-z_]\w*$")
_WORD = re.compile(r"[A-Za-z_]\w*")


def _kind(name: str, program: Program) -> str:
    if name in program.functions:
        return "function"
    if name in program.variables:
        return "instance"
    if name in program.type_names or name in cparse.TYPE_KEYWORDS:
        return "class"
    if name in cparse.KEYWORDS:
        return "keyword"
    return "text"


def complete(code: str, cursor_pos: int, program: Program) -> dict[str, object]:
    before = code[:cursor_pos]
    include = re.search(r"#\s*include\s*<([\w./]*)$", before)
    if include:
        prefix = include.group(1)
        matches = [h for h in _HEADERS if h.startswith(prefix)]
        start = cursor_pos - len(prefix)
        return _reply(matches, start, cursor_pos, [])
    m = _WORD_BEFORE.search(before)
    prefix = m.group(0) if m else ""
    start = cursor_pos - len(prefix)
    if not prefix:
        return _reply([], cursor_pos, cursor_pos, [])
    candidates = set(program.names()) | cparse.KEYWORDS
    candidates |= {w for names in STANDARD_LIBRARY.values() for w in names}
    # names written elsewhere in this cell, but not the word being typed
    candidates |= {w.group(0) for w in _WORD.finditer(code) if w.end() != cursor_pos}
    matches = sorted(
        (c for c in candidates if c.startswith(prefix) and c != prefix),
        key=lambda c: (c not in program.names(), c.startswith("_"), c.lower()),
    )
    types = [
        {"text": c, "type": _kind(c, program), "start": start, "end": cursor_pos} for c in matches
    ]
    return _reply(matches, start, cursor_pos, types)


def _reply(matches: list[str], start: int, end: int, types: list[dict]) -> dict[str, object]:
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {"_jupyter_types_experimental": types} if types else {},
    }


def word_at(code: str, cursor_pos: int) -> str:
    for m in _WORD.finditer(code):
        if m.start() <= cursor_pos <= m.end():
            return m.group(0)
    return ""


def inspect(code: str, cursor_pos: int, program: Program) -> dict[str, object]:
    name = word_at(code, cursor_pos)
    text = program.declaration_of(name) if name else None
    if text is None:
        for header, names in STANDARD_LIBRARY.items():
            if name in names:
                text = f"{name}: from <{header}>"
                break
    if text is None:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}


def is_complete(code: str) -> dict[str, str]:
    """Whether a console may run `code` now or should wait for more lines."""
    try:
        depth = cparse.bracket_depth(code)
    except cparse.Incomplete:
        return {"status": "incomplete", "indent": ""}
    if depth > 0:
        return {"status": "incomplete", "indent": "    " * depth}
    if depth < 0:
        return {"status": "invalid"}
    if code.rstrip().endswith("\\"):
        return {"status": "incomplete", "indent": ""}
    return {"status": "complete"}
