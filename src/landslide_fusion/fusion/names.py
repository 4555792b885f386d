"""Names of the fusion stage's closed choices, in a module that imports nothing.

The command line lists them as choices at start-up without importing pandas or scikit-learn;
the modules that act on them (:mod:`.join`) import them from here.
"""

from __future__ import annotations

__all__ = ["ON_MISSING"]

#: Ids present on one side of the join only: ``error`` names them, ``drop`` leaves them out and lists them.
ON_MISSING = ("error", "drop")
