"""The plot style and colours every notebook of the course shares.

The seeds pasted this block into each notebook; importing it keeps the figures identical
and the notebooks free of duplicated setup.
"""

from __future__ import annotations

import matplotlib as mpl

#: Paul Tol's colour-blind-safe palette, by role.
COLORS: dict[str, str] = {
    "primary": "#0077BB",
    "secondary": "#EE7733",
    "tertiary": "#009988",
    "error": "#CC3311",
    "neutral": "#555555",
    "highlight": "#EE3377",
}

RC_PARAMS: dict[str, object] = {
    "figure.figsize": (10, 6),
    "figure.dpi": 120,
    "font.size": 13,
    "axes.titlesize": 15,
    "axes.labelsize": 13,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.framealpha": 0.85,
    "lines.linewidth": 2.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.dpi": 150,
}


def use_course_style() -> None:
    """Apply the course's seaborn theme and matplotlib settings (idempotent, prints nothing)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette="colorblind")
    mpl.rcParams.update(RC_PARAMS)
