"""nbgrader configuration of the Fisher information course, and its grading settings.

Every door reads this one file: the ``course`` command, plain ``nbgrader`` commands, and
formgrader's buttons. Paths are relative to this file, so nbgrader works the same from any
working directory.
"""

import os

from notebook_grader.pipeline.setup import use_engine

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "fisher-information"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")

# nbgrader's exchange: `course release <assignment> --exchange` (or `nbgrader release_assignment`)
# puts the release here, students fetch and submit from their Assignment List, `nbgrader collect`
# copies the submissions to submitted/ with the exchange's times. The default, a folder in the
# course, works on one machine without root; students' Jupyter servers must be able to enter it
# (on a shared machine choose a folder every student can reach, such as /srv/nbgrader/exchange).
# `course student-config` writes the students' side of this setting.
c.Exchange.root = os.path.join(ROOT, "exchange")

# The course's assignments. A reading notebook is released with its assignment but holds no
# grade: no autograde path ever executes it (a submitted copy is ignored).
c.CourseGrading.assignments = {
    "fisher_information": {"graded": ["exercises"], "reading": ["theory"]},
    "fisher_estimation": {"graded": ["exercises"], "reading": ["theory"]},
    "fisher_deep_learning": {"graded": ["exercises"], "reading": ["theory"]},
}
# What a student's kernel may import from the course: the notebooks' helpers and the kernel
# half of the test-cell protocol. Both are shown read-only in the sandbox.
c.CourseGrading.helper_packages = ["fisher_helpers", "cell_checks"]
# Limits of one submission (these are the defaults, stated here for the instructor to see).
c.CourseGrading.cell_timeout = 30
c.CourseGrading.submission_timeout = 300
c.CourseGrading.memory_mb = 2048

# Autograde runs each notebook in the sandbox and judges the test cells outside the kernel,
# against the reference solution; feedback shows the verdicts. Formgrader's buttons and
# `nbgrader autograde` go through the same pipeline.
use_engine(c)
