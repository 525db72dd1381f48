"""Which grade counts for a course: one policy for the campus and the LMS passback alike.

A course chooses in its `course.yaml`:

```yaml
grade_policy: best      # best (default): the best graded submission counts; latest: the last
```

The campus's progress (results.py) and the LTI grade passback (hub/lti/passback.py) both ask
`grade_policy(course)`, so Moodle's or Canvas's gradebook shows the score the campus shows.
The course folders are `$NBCAMPUS_COURSES_DIR` (default: the repository's `courses/`), as
for the LTI picker. A course without a file, or without the key, uses `best`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

POLICIES = ("best", "latest")
DEFAULT = "best"
REPO = Path(__file__).resolve().parents[2]

_cache: dict[Path, tuple[float, str]] = {}


def courses_dir() -> Path:
    return Path(os.environ.get("NBCAMPUS_COURSES_DIR") or REPO / "courses")


def grade_policy(course: str, root: Path | str | None = None) -> str:
    """`best` or `latest` for `course` (its course.yaml's `grade_policy`; default best)."""
    if not course or "/" in course or course.startswith("."):
        return DEFAULT
    path = Path(root or courses_dir()) / course / "course.yaml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return DEFAULT
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        value = str(data.get("grade_policy") or DEFAULT).strip().lower()
    except (OSError, yaml.YAMLError, AttributeError):
        value = DEFAULT
    policy = value if value in POLICIES else DEFAULT
    _cache[path] = (mtime, policy)
    return policy
