"""Training: runs, k-fold cross-validation and ablations, from streamed patches to a saved run."""

from ...lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".ablate": ["run_ablation"],
        ".losses": ["create_loss", "list_losses", "register_loss"],
        ".train": ["train_segmentation"],
    },
)
