"""The deferred imports: commands start without the IRI grammar or setuptools, and both still work when used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


def _run(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                            check=True, env={"PATH": ""})
    return result.stdout.strip()


def test_nbformat_imports_without_building_the_grammar() -> None:
    out = _run("""
        import sys
        from notebook_grader.patches import imports, APPLIED
        imports.install()
        import nbformat, jsonschema
        print(APPLIED["defer_iri_grammar"], "rfc3987_syntax.syntax_helpers" in sys.modules)
    """)
    assert out == "applied False"


def test_iri_format_checks_are_unchanged() -> None:
    """jsonschema's "iri" checks give the same answers with the stand-in (it loads the real module)."""
    check = """
        import jsonschema
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
        print([checker.conforms(v, "iri") for v in ("http://example.com/ä", "not an iri", "urn:x")],
              [checker.conforms(v, "iri-reference") for v in ("../a b", "#frag")])
    """
    plain = _run(check)
    deferred = _run("from notebook_grader.patches import imports; imports.install()\n" + textwrap.dedent(check))
    assert deferred == plain
    assert "True" in plain and "False" in plain  # the checks ran, and can fail


def test_switch_turns_it_off() -> None:
    out = _run("""
        import os
        os.environ["NOTEBOOK_GRADER_NO_PATCHES"] = "1"
        import sys
        from notebook_grader.patches import imports, APPLIED
        imports.install()
        print(APPLIED["defer_iri_grammar"].startswith("skipped"), "rfc3987_syntax" in sys.modules)
    """)
    assert out == "True False"


def test_nbgrader_imports_without_setuptools() -> None:
    out = _run("""
        import sys
        from notebook_grader.patches import imports, APPLIED
        imports.install()
        import nbgrader.api, nbgrader.utils
        print(APPLIED["defer_archive_util"], "setuptools" in sys.modules, "pkg_resources" in sys.modules)
    """)
    assert out == "applied False False"


def test_nbgrader_unzips_the_same_through_the_stand_in(tmp_path: Path) -> None:
    """nbgrader's extraction (``zip_collect``) runs setuptools' real unpackers through the stand-in."""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice_exercises.ipynb", "{}")
        z.writestr("inner/bob.txt", "b")
    extract = """
        import os, sys
        from nbgrader.utils import unzip
        dest = sys.argv[2]
        os.makedirs(dest)
        unzip(sys.argv[1], dest)
        module = sys.modules["setuptools.archive_util"]
        print(sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs),
              type(module).__name__, hasattr(module, "__deferred__"))
    """
    plain = _run(extract, str(archive), str(tmp_path / "plain"))
    deferred = _run("from notebook_grader.patches import imports; imports.install()\n" + textwrap.dedent(extract),
                    str(archive), str(tmp_path / "deferred"))
    assert deferred == plain
    assert "alice_exercises.ipynb" in plain and plain.endswith("module False")  # the real module did the work
