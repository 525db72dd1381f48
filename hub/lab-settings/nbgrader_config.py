# nbgrader's configuration in every student server (installed by scripts/setup.sh into the
# environment's etc/jupyter/, and into the student image): nbgrader's exchange (students'
# commands and the Lab's assignment list; an instructor's release_assignment, collect and
# release_feedback) talks to the grader service over HTTP, so no shared exchange folder is
# needed. Courses come from the campus when none is given.
from nbcampus.grader.exchange import configure

configure(get_config())  # noqa: F821 - get_config is provided by the config loader
