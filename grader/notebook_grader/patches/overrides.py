"""The engine's subclasses that replace a library's private method, and the guard of each.

Each is used only while :func:`notebook_grader.patches.in_use` says so: the installed library in
the range it was tested with, and the replaced method still there. Otherwise the subclass does
what the library's own method does (all but ``AWAITING_HAND_GRADING`` only save time, so they
also follow ``NOTEBOOK_GRADER_NO_PATCHES``; that one is what makes feedback say "awaiting hand
grading").
"""

from __future__ import annotations

from notebook_grader.patches import Patch

#: :class:`~notebook_grader.isolation.kernel_manager.QuickStartClient`: a kernel is ready without
#: jupyter_client's fixed 0.2 s wait for a quiet IOPub channel.
QUICK_START_CLIENT = Patch("quick_start_client", "jupyter_client", ">=8.6,<9",
                           ("jupyter_client.client:KernelClient._async_wait_for_ready",))

#: :meth:`~notebook_grader.pipeline.sandboxed_execute.SandboxedExecute._async_poll_kernel_alive`:
#: a dead kernel is noticed within 0.1 s instead of nbclient's 1 s.
FAST_DEAD_KERNEL_POLL = Patch("fast_dead_kernel_poll", "nbclient", ">=0.10,<0.12",
                              ("nbclient.client:NotebookClient._async_poll_kernel_alive",
                               "nbclient.client:NotebookClient._async_check_alive"))

#: :meth:`~notebook_grader.pipeline.feedback_exporter.FeedbackExporter.from_notebook_node`:
#: nbconvert's ``HTMLExporter.from_notebook_node`` restated, without its BeautifulSoup round trip
#: on pages it would not change.
FEEDBACK_WITHOUT_RESERIALIZATION = Patch("feedback_without_reserialization", "nbconvert", ">=7.16,<8",
                                         ("nbconvert.exporters.html:HTMLExporter.from_notebook_node",
                                          "nbconvert.exporters.html:HTMLExporter._init_resources"))

#: :meth:`~notebook_grader.pipeline.feedback_exporter.FeedbackExporter.markdown2html`: nbconvert's
#: markdown filter, its result remembered per worker for a cell with no attachments (the same
#: release text on every page).
REMEMBERED_MARKDOWN = Patch("remembered_markdown", "nbconvert", ">=7.16,<8",
                            ("nbconvert.exporters.html:HTMLExporter.markdown2html",))

#: :class:`~notebook_grader.pipeline.feedback_exporter.GetGradesAndPending`: nbgrader's
#: ``GetGrades._get_score``, which also flags the parts awaiting hand grading.
AWAITING_HAND_GRADING = Patch("awaiting_hand_grading", "nbgrader", ">=0.9.6,<0.10",
                              ("nbgrader.preprocessors.getgrades:GetGrades._get_score",), switchable=False)

#: :class:`~notebook_grader.pipeline.save_grades.SaveAutoGradesAtOnce`: nbgrader's
#: ``SaveAutoGrades._add_score`` and ``_add_comment`` on rows fetched at once, committed once.
SAVE_GRADES_AT_ONCE = Patch("save_grades_at_once", "nbgrader", ">=0.9.6,<0.10",
                            ("nbgrader.preprocessors.saveautogrades:SaveAutoGrades._add_score",
                             "nbgrader.preprocessors.saveautogrades:SaveAutoGrades._add_comment"))

#: :class:`~notebook_grader.pipeline.feedback_exporter.GetGradesAndPending`: nbgrader's
#: ``GetGrades._get_comment`` and ``_get_score`` on rows fetched at once.
FEEDBACK_GRADES_AT_ONCE = Patch("feedback_grades_at_once", "nbgrader", ">=0.9.6,<0.10",
                                ("nbgrader.preprocessors.getgrades:GetGrades._get_comment",
                                 "nbgrader.preprocessors.getgrades:GetGrades._get_score"))

#: :class:`~notebook_grader.pipeline.overwrite_cells.OverwriteCellsAtOnce`: nbgrader's
#: ``OverwriteCells.preprocess_cell`` against the notebook's cells fetched once.
OVERWRITE_CELLS_AT_ONCE = Patch("overwrite_cells_at_once", "nbgrader", ">=0.9.6,<0.10",
                                ("nbgrader.preprocessors.overwritecells:OverwriteCells.preprocess_cell",
                                 "nbgrader.preprocessors.overwritecells:OverwriteCells.add_missing_grade_cells",
                                 "nbgrader.preprocessors.overwritecells:OverwriteCells.add_missing_task_cells"))

OVERRIDES = (QUICK_START_CLIENT, FAST_DEAD_KERNEL_POLL, FEEDBACK_WITHOUT_RESERIALIZATION, REMEMBERED_MARKDOWN,
             AWAITING_HAND_GRADING, SAVE_GRADES_AT_ONCE, FEEDBACK_GRADES_AT_ONCE, OVERWRITE_CELLS_AT_ONCE)
