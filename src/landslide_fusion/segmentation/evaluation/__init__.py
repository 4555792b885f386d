"""Evaluation: a run's predictions scored against masks, and its threshold and gate chosen for a share."""

from ...lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".evaluate": ["evaluate_run"],
        ".metrics": ["ConfusionMatrix", "ThresholdSweep"],
        ".scores": ["Scores"],
        ".tuning": ["PostSweep", "tune_run"],
    },
)
