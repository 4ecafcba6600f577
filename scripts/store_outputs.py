"""Re-execute a notebook in place and keep only what nbval compares.

Usage: python scripts/store_outputs.py source/fisher_information/theory.ipynb

Run it after editing the theory notebook, then commit: execution-timing metadata is dropped
and consecutive stream outputs are merged, so the stored outputs change only when results do.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def store_outputs(path: Path) -> None:
    """Execute ``path`` in a fresh kernel from its own folder and write it back, normalized."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if merged and out.output_type == "stream" == merged[-1].output_type and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
    nbformat.validate(nb)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        store_outputs(Path(argument))
