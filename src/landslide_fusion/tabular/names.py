"""Names of the tabular stage's closed choices, in a module that imports nothing.

The command line lists them as choices at start-up without importing scikit-learn; the modules
that act on them (:mod:`.splits`) import them from here.
"""

from __future__ import annotations

__all__ = ["SPLITTERS"]

#: Cross-validation splitters: ``stratified`` k-fold, ``group`` (a group column), ``spatial`` blocks.
SPLITTERS = ("stratified", "group", "spatial")
