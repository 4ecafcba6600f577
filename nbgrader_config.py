"""nbgrader configuration of the Fisher information course.

Everything is relative to this file, so nbgrader works the same from any working directory.
"""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from fisher_grader.preprocessors import GradeOutsideKernel

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "fisher-information"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")

# The theory notebook is reading material: it is released with the assignment but holds no
# grade, so autograding never executes it (a submitted copy is ignored).
if sys.argv[1:2] == ["autograde"]:
    c.CourseDirectory.notebook_id = "exercises"

# Test cells report the values of the student's functions; GradeOutsideKernel judges them in
# this process against the reference solution and writes the verdict into the cell, so nothing
# the kernel prints, raises or patches decides a grade. ClearHiddenTests then removes the hidden
# test code, so neither the autograded notebook nor its feedback shows it.
c.Autograde.autograde_preprocessors = [
    Execute,
    GradeOutsideKernel,
    ClearHiddenTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# A student who deletes a test cell gets it back (and graded) rather than an ungraded part.
c.OverwriteCells.add_missing_cells = True

# A notebook that loops forever is interrupted after 30 s per cell.
c.Execute.timeout = 30
