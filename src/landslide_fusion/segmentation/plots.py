"""Pictures of segmentation results: patch overlays and training curves (PNG, matplotlib Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..bands import Role, get_band_set
from ..io.atomic import atomic_path

__all__ = ["rgb_composite", "write_overlays", "plot_history"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    _pyplot().close(fig)
    return path


def rgb_composite(image: np.ndarray, band_set: str) -> np.ndarray:
    """(H, W, 3) display image from the RED/GREEN/BLUE bands, each stretched to its 2-98 % range."""
    bs = get_band_set(band_set)
    rgb = np.stack([image[bs.index(bs.band_for(r))] for r in (Role.RED, Role.GREEN, Role.BLUE)], -1).astype(np.float32)
    lo, hi = np.percentile(rgb, 2, axis=(0, 1)), np.percentile(rgb, 98, axis=(0, 1))
    return np.clip((rgb - lo) / np.maximum(hi - lo, 1e-6), 0, 1)


def write_overlays(images: np.ndarray, truth: np.ndarray | None, prob: np.ndarray, masks: np.ndarray, ids: list[str],
                   band_set: str, folder: str | os.PathLike[str]) -> list[Path]:
    """One PNG per patch: the image, the ground truth (green) and the predicted mask (red) over it,
    and the probability map. ``images`` (N, C, H, W), ``truth``/``prob``/``masks`` (N, H, W); the
    masks are those the run writes (:func:`~landslide_fusion.regions.landslide_mask`)."""
    plt = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, rid in enumerate(ids):
        rgb = rgb_composite(images[i], band_set)
        pred = masks[i] == 1
        panels = 3 if truth is not None else 2
        fig, axes = plt.subplots(1, panels + 1, figsize=(3.2 * (panels + 1), 3.4))
        axes[0].imshow(rgb)
        axes[0].set_title(rid)
        k = 1
        if truth is not None:
            axes[k].imshow(rgb)
            axes[k].imshow(np.ma.masked_where(truth[i] == 0, truth[i]), cmap="summer", alpha=0.6, vmin=0, vmax=1)
            axes[k].set_title("ground truth")
            k += 1
        axes[k].imshow(rgb)
        axes[k].imshow(np.ma.masked_where(~pred, pred), cmap="autumn", alpha=0.6, vmin=0, vmax=1)
        axes[k].set_title("prediction")
        im = axes[k + 1].imshow(prob[i], cmap="magma", vmin=0, vmax=1)
        axes[k + 1].set_title("probability")
        fig.colorbar(im, ax=axes[k + 1], fraction=0.046)
        for ax in axes:
            ax.set_axis_off()
        fig.tight_layout()
        paths.append(_save(fig, folder / f"{rid}.png"))
    return paths


def plot_history(history: list[dict], path: str | os.PathLike[str]) -> Path:
    """Training loss and validation F1/IoU per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(epochs, [h["loss"] for h in history], marker="o")
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    b.plot(epochs, [h["val_f1"] for h in history], marker="o", label="val landslide F1")
    b.plot(epochs, [h["val_iou"] for h in history], marker="s", label="val landslide IoU")
    b.set_xlabel("epoch")
    b.set_ylim(0, 1)
    b.legend(loc="lower right")
    fig.tight_layout()
    return _save(fig, Path(path))
