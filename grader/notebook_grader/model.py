"""The engine's data model: a grading task, its result, and the one vocabulary of outcomes.

Everything above this module speaks of a submission's outcome in these words only:

* :attr:`Outcome.GRADED`: graded, and nothing went wrong;
* :attr:`Outcome.FAILED`: graded and stored, but something went wrong (a time limit, a dead
  kernel, a repaired notebook...): the reasons are in the result's ``problems`` and in the
  student's feedback;
* :attr:`Outcome.NOT_GRADED`: the grader itself failed; nothing is stored, and the next run
  grades the submission again.

It imports no kernel, sandbox or nbgrader machinery, so the coordinator's storage and reports
can use it without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """What one submission may use (the sandbox enforces it). Times are wall-clock seconds, sizes MiB.

    These are the engine's defaults; a course changes them in ``c.CourseGrading``.
    """

    cell_seconds: float = 30.0
    submission_seconds: float = 300.0
    memory_mb: int = 2048  # address space the kernel may add to what it starts with
    processes: int = 64  # processes and threads in the sandbox (RLIMIT_NPROC)
    scratch_mb: int = 256  # the working directory (a tmpfs); /tmp and /dev/shm get a quarter each
    file_mb: int = 128  # largest file the kernel may write (RLIMIT_FSIZE)
    open_files: int = 512
    output_mb: float = 4.0  # outputs kept per notebook; the rest is cut (worker side)

    def describe(self) -> str:
        return (f"{self.cell_seconds:g} s per cell, {self.submission_seconds:g} s per submission, "
                f"{self.memory_mb} MiB of memory, {self.processes} processes, "
                f"{self.scratch_mb} MiB of scratch space, no network")


class Outcome(str, Enum):
    """How grading one submission ended (see the module)."""

    GRADED = "graded"
    FAILED = "failed"
    NOT_GRADED = "not graded"


@dataclass(frozen=True)
class GradingOptions:
    """How submissions are graded (the same for a whole batch)."""

    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    max_notebook_mb: float = 20.0


@dataclass(frozen=True)
class GradingTask:
    """One student's submission of one assignment."""

    assignment: str
    student: str
    submission: Path  # the folder of the submitted files (``submitted/<student>/<assignment>``)
    template: Path  # the assignment's template folder
    options: GradingOptions = field(default_factory=GradingOptions)
    submitted_at: datetime | None = None  # the grader's time of the submission (never the student's)


@dataclass(frozen=True)
class GradeRecord:
    """An autograder's score of one graded cell, as nbgrader's SaveAutoGrades computed it."""

    notebook: str
    name: str
    auto_score: float | None


@dataclass(frozen=True)
class CommentRecord:
    """The autograder's comment on one cell."""

    notebook: str
    name: str
    auto_comment: str | None


@dataclass
class GradingResult:
    """What grading one submission produced (nothing of it is stored yet)."""

    assignment: str
    student: str
    status: Outcome = Outcome.GRADED
    problems: list[str] = field(default_factory=list)  # what went wrong (status FAILED), for the summary
    notes: list[str] = field(default_factory=list)  # everything the feedback tells the student
    error: str | None = None  # the grader's own failure (status NOT_GRADED): nothing to store
    timestamp: datetime | None = None
    grades: list[GradeRecord] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    late_penalties: dict[str, float | None] = field(default_factory=dict)
    autograded: dict[str, bytes] = field(default_factory=dict)  # path in autograded/<student>/<assignment>/
    feedback: dict[str, bytes] = field(default_factory=dict)  # path in feedback/<student>/<assignment>/
    seconds: float = 0.0  # wall-clock time of the task
    kernel_seconds: float = 0.0  # time the kernel spent running cells
    kernel_start_seconds: float = 0.0

    @property
    def recorded(self) -> bool:
        return self.status != Outcome.NOT_GRADED
