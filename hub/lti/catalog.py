"""What an instructor may link from the LMS: the courses on disk, read through the campus
manifest loader (the deep-linking picker lists their lessons and exercises)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbcampus.hub.campus.manifest import ManifestError, load_manifest


@dataclass(frozen=True)
class LinkTarget:
    course: str
    lesson: str
    exercise: str
    title: str
    points: float
    # for the picker's page: the course's title, and the title without it
    course_title: str = ""
    label: str = ""

    @property
    def key(self) -> str:
        return "/".join((self.course, self.lesson, self.exercise))


def link_targets(courses_dir: Path) -> list[LinkTarget]:
    """Every lesson (exercise "") and graded exercise of every valid course, in order."""
    targets: list[LinkTarget] = []
    if not courses_dir.is_dir():
        return targets
    for course_dir in sorted(p for p in courses_dir.iterdir() if (p / "course.yaml").exists()):
        try:
            manifest = load_manifest(course_dir)
        except ManifestError:
            continue  # the campus reports broken courses; the picker just leaves them out
        for lesson in manifest.lessons:
            total = sum(e.points for e in lesson.exercises)
            targets.append(
                LinkTarget(
                    manifest.slug,
                    lesson.slug,
                    "",
                    f"{manifest.title}: {lesson.title}",
                    total,
                    manifest.title,
                    lesson.title,
                )
            )
            for ex in lesson.exercises:
                if ex.notebook is not None or ex.written:  # graded: a score to pass back
                    title = f"{manifest.title}: {lesson.title}: {ex.title}"
                    targets.append(
                        LinkTarget(
                            manifest.slug,
                            lesson.slug,
                            ex.slug,
                            title,
                            ex.points,
                            manifest.title,
                            ex.title,
                        )
                    )
    return targets


def find_target(courses_dir: Path, key: str) -> LinkTarget | None:
    return next((t for t in link_targets(courses_dir) if t.key == key), None)
