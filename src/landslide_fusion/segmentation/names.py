"""Names of the inference modes a run offers: test-time augmentations and engines.

Kept in a module that imports nothing, so the command line lists them as choices (``--tta``,
``--engine``) without importing torch; :mod:`.inference.infer` uses them and says what each one does.
"""

from __future__ import annotations

__all__ = ["TTA_MODES", "ENGINES"]

#: Test-time augmentation: ``none``; ``rot90``: the 4 rotations; ``d4``: rotations and flips (8 views).
TTA_MODES = ("none", "rot90", "d4")
#: What runs the network: ``torch`` (the run's weights) or ``onnx`` (``RUN/model.onnx`` from ``segment export``).
ENGINES = ("torch", "onnx")
