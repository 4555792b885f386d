"""Names of the value scales an input can be on, in a module that imports nothing.

The command line offers them as choices (``fetch --scale``) without importing NumPy;
:mod:`.domains` says what each scale holds and converts between them.
"""

from __future__ import annotations

__all__ = ["SCALES"]

#: Value scales: ``reflectance`` (0-1), ``s2-dn`` (reflectance x 10000), ``l4s`` (each band / its
#: Landslide4Sense mean), ``uint8`` (8-bit display values); see :mod:`.domains`.
SCALES = ("reflectance", "s2-dn", "l4s", "uint8")
