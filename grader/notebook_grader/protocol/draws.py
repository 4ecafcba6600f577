"""The seed of a submission's drawn checks: new for every submission, unknown before grading.

A hidden check at fixed inputs (``checks.close("array input", lambda: f(np.array([...])))``)
asks every student the same question, and a student's function sees the question while it is
graded. A function that only recalls the answers at inputs seen before would pass it. A drawn
check (stated after ``checks.draws()``, :mod:`cell_checks`) asks at inputs drawn from a seed the
grader picks per submission, so recalled answers are worth nothing.

The seed hashes the source notebook (which students never see, so they cannot work a seed out
before they submit), the student, the assignment, the notebook, and every cell's source as it
is graded: a changed submission meets new inputs, and grading the same submission again meets
the same ones (the same grade). Both halves of grading use it: ``SandboxedExecute`` puts it in
the kernel's environment (:data:`cell_checks.DRAW_SEED_ENV`) and in ``resources`` under
:data:`RESOURCE_KEY`; ``GradeOutsideKernel`` computes what the drawn checks expect with it.
Where no seed was chosen (a door that runs nbgrader's own ``Execute``), both sides use the
default seed, and still agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from notebook_grader.protocol.reference import notebook_key

#: Where ``SandboxedExecute`` leaves the seed, in ``resources["nbgrader"]``.
RESOURCE_KEY = "draw_seed"


def submission_seed(source: bytes, student: str, assignment: str, notebook: str, cells: Iterable[str]) -> int:
    """The seed of the drawn checks of one graded notebook (see the module): a 63-bit integer."""
    digest = hashlib.sha256()
    for part in (notebook_key(source), student, assignment, notebook, *cells):
        digest.update(part.encode())
        digest.update(b"\0")
    return int.from_bytes(digest.digest()[:8], "big") >> 1
