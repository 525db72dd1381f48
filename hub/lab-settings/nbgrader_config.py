# nbgrader's configuration in every student server (installed by scripts/setup.sh into the
# environment's etc/jupyter/, and into the student image): nbgrader's student-side exchange
# (its commands and the Lab's assignment list) talks to the grader service over HTTP, so no
# shared exchange folder is needed. Courses come from the campus when none is given.
from nbcampus.grader.exchange import configure

configure(get_config())  # noqa: F821 - get_config is provided by the config loader
