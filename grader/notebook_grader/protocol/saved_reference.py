"""What every check expects, computed once when an assignment is released, and saved.

Judging a test cell needs each check's expected value, computed by running the reference
solution in the grading process (:mod:`notebook_grader.protocol.reference`). For unit 1 that is
Monte Carlo estimates from a million draws: most of a CPU-second, which every grading worker of
every run paid before its first submission. ``course release`` now computes the values once
(:func:`save_reference`); a reference solution that fails its own checks is then found at release
rather than in the middle of grading a class.

The file is the course's, ``.grading/reference/<assignment>/<notebook>.json`` (outside every folder
a kernel sees). The coordinator checks it is current before a run (:func:`current_saved`) and copies
it into the assignment's template, where a task reads it (:func:`use_saved`), on this machine or a
Dask worker. It is current while its digest holds: the source notebook's bytes and the machine's
grading environment (the callers pass :func:`~notebook_grader.batch.fingerprint.environment_fingerprint`:
the engine's code, the course's helper packages, which a reference may call, and the versions of
Python, NumPy, SciPy and the Jupyter libraries). A missing, stale or unreadable file changes
nothing but speed: the values are computed as before (``course release`` again saves them anew).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from cell_checks import Comparison
from notebook_grader.protocol.collect import CheckSpec
from notebook_grader.protocol.reference import ExpectedCheck, Reference, add_saved, notebook_key

log = logging.getLogger(__name__)

#: Changes when the file's layout does.
FORMAT = 2  # 2: a check says whether it is drawn
#: The course's folder of saved references, and the template's.
FOLDER = Path(".grading") / "reference"


def saved_folder(root: Path, assignment: str) -> Path:
    """Where the references of ``assignment``'s notebooks are saved under ``root`` (a course or a template)."""
    return root / FOLDER / assignment


def saved_path(root: Path, assignment: str, notebook: str) -> Path:
    """Where the reference of ``notebook`` (a name without ``.ipynb``) is saved under ``root``."""
    return saved_folder(root, assignment) / f"{notebook}.json"


def digest(notebook: bytes, environment: str) -> str:
    """What a saved reference of a notebook depends on: its bytes (``notebook``), and ``environment``,
    the engine, helper packages and libraries this machine grades with
    (:func:`~notebook_grader.batch.fingerprint.environment_fingerprint`, which a Dask worker must match)."""
    return hashlib.sha256(f"format {FORMAT}|{environment}|{notebook_key(notebook)}".encode()).hexdigest()


def _check_as_json(check: ExpectedCheck) -> dict[str, Any]:
    spec = check.spec
    return {"visible": check.visible, "function": spec.function, "index": spec.index, "what": spec.what,
            "cmp": spec.cmp.as_dict(), "expected": spec.expected, "hint": spec.hint, "lineno": spec.lineno,
            "likely": [[label, value] for label, value in spec.likely], "drawn": spec.drawn}


def _check_from_json(data: dict[str, Any]) -> ExpectedCheck:
    spec = CheckSpec(data["function"], int(data["index"]), data["what"], Comparison(**data["cmp"]),
                     data["expected"], data["hint"], int(data["lineno"]),
                     tuple((label, value) for label, value in data["likely"]), bool(data.get("drawn", False)))
    return ExpectedCheck(spec, visible=bool(data["visible"]))


def save_reference(root: Path, assignment: str, notebooks: tuple[str, ...], environment: str) -> list[str]:
    """Compute and save the expected values of every test cell of ``notebooks`` (in
    ``root/source/<assignment>/``); what went wrong, one line each (nothing: all saved).

    A notebook whose reference cannot be computed (it fails its own checks, it raises) keeps no
    saved file: grading computes it, and reports the same problem, as before.
    """
    problems = []
    for notebook in notebooks:
        source = root / "source" / assignment / f"{notebook}.ipynb"
        target = saved_path(root, assignment, notebook)
        target.unlink(missing_ok=True)
        if not source.is_file():
            continue
        try:
            reference = Reference(source)
            if not reference.test_sources:
                continue
            for grade_id, code in reference.test_sources.items():
                reference.expected_checks(grade_id, code)
            contents = source.read_bytes()
            text = json.dumps({
                "format": FORMAT, "digest": digest(contents, environment), "notebook_key": notebook_key(contents),
                "checks": {key: [_check_as_json(c) for c in checks] for key, checks in reference.computed().items()},
            }, allow_nan=False)
        except Exception as exc:  # the instructor's notebook: said now, and again when grading
            problems.append(f"{notebook}: the reference solution's expected values could not be computed "
                            f"({type(exc).__name__}: {exc})")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{notebook}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "x") as f:  # the umask's mode, like the course's other files
            f.write(text)
        os.replace(temporary, target)
    return problems


def current_saved(root: Path, assignment: str, notebooks: tuple[str, ...], environment: str) -> dict[str, Path]:
    """The saved references under ``root`` that are current in ``environment``, by notebook."""
    current = {}
    for notebook in notebooks:
        path = saved_path(root, assignment, notebook)
        source = root / "source" / assignment / f"{notebook}.ipynb"
        try:
            with path.open() as f:
                data = json.load(f)
            if data.get("format") == FORMAT and data.get("digest") == digest(source.read_bytes(), environment):
                current[notebook] = path
        except (OSError, ValueError, AttributeError):
            continue
    return current


def use_saved(folder: Path) -> int:
    """Make the references saved in ``folder`` (a template's copies) known to
    :func:`~notebook_grader.protocol.reference.load_reference`; how many were read."""
    read = 0
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else ():
        try:
            data = json.loads(path.read_text())
            checks = {key: [_check_from_json(c) for c in items] for key, items in data["checks"].items()}
            add_saved(data["notebook_key"], checks)
            read += 1
        except (OSError, ValueError, KeyError, TypeError):  # speed only: computed as before
            log.warning("a saved reference could not be read: %s", path, exc_info=True)
    return read
