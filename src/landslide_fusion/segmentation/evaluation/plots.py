"""Pictures of segmentation results: patch overlays and training curves (PNG, matplotlib Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...bands import Role, get_band_set
from ...io.atomic import atomic_path

__all__ = ["rgb_composite", "blend", "write_overlays", "plot_history", "TRUTH_COLOUR", "PREDICTION_COLOUR"]


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


#: Overlay colours (RGB in [0, 1]): ground truth, prediction, and where both mark a landslide.
TRUTH_COLOUR = (0.10, 0.85, 0.20)
PREDICTION_COLOUR = (0.95, 0.15, 0.10)
_ALPHA = 0.55


def blend(rgb: np.ndarray, mask: np.ndarray, colour: tuple[float, float, float], alpha: float = _ALPHA) -> np.ndarray:
    """``rgb`` (H, W, 3) with ``colour`` laid over the pixels of ``mask`` at opacity ``alpha``:
    ``out = (1 - alpha m) rgb + alpha m colour``, ``m`` the 0/1 mask."""
    m = (np.asarray(mask) > 0)[..., None].astype(np.float32) * alpha
    return rgb * (1 - m) + np.asarray(colour, np.float32) * m


def _outline(ax, mask: np.ndarray, colour: tuple[float, float, float]) -> None:
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.0)


def _overlay_figure(plt, rgb: np.ndarray, truth: np.ndarray | None, pred: np.ndarray, prob: np.ndarray, title: str):
    from matplotlib.patches import Patch

    panels = [("image (RGB, 2-98 % stretch)", rgb, None)]
    if truth is not None:
        panels.append((f"ground truth ({int(truth.sum())} px)", blend(rgb, truth, TRUTH_COLOUR), (truth, TRUTH_COLOUR)))
    panels.append(
        (f"prediction ({int(pred.sum())} px)", blend(rgb, pred, PREDICTION_COLOUR), (pred, PREDICTION_COLOUR))
    )
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(3.3 * (len(panels) + 1), 3.9))
    for ax, (name, picture, outline) in zip(axes, panels):
        ax.imshow(picture, interpolation="nearest")
        if outline is not None:
            _outline(ax, *outline)
        ax.set_title(name, fontsize=9)
    im = axes[-1].imshow(prob, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    axes[-1].set_title("landslide probability", fontsize=9)
    fig.colorbar(im, ax=axes[-1], fraction=0.046, label="p(landslide)")
    for ax in axes:
        ax.set_axis_off()
    handles = ([Patch(color=TRUTH_COLOUR, label="ground truth")] if truth is not None else []) + [
        Patch(color=PREDICTION_COLOUR, label="prediction")
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def write_overlays(
    images: np.ndarray,
    truth: np.ndarray | None,
    prob: np.ndarray,
    masks: np.ndarray,
    ids: list[str],
    band_set: str,
    folder: str | os.PathLike[str],
) -> list[Path]:
    """One PNG per patch: the image; the ground truth (green) and the predicted mask (red) laid
    over it in colour with an outline; the probability map; a legend. ``images`` (N, C, H, W),
    ``truth``/``prob``/``masks`` (N, H, W); the masks are those the run writes
    (:func:`~landslide_fusion.regions.landslide_mask`)."""
    plt = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, rid in enumerate(ids):
        fig = _overlay_figure(
            plt,
            rgb_composite(images[i], band_set),
            None if truth is None else np.asarray(truth[i]) > 0,
            np.asarray(masks[i]) == 1,
            np.asarray(prob[i]),
            str(rid),
        )
        paths.append(_save(fig, folder / f"{rid}.png"))
    return paths


def plot_history(history: list[dict], path: str | os.PathLike[str]) -> Path:
    """Training loss and validation landslide F1/IoU per epoch (whole-number epoch ticks, the
    legend beside the axes, titles and axis labels)."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(epochs, [h["loss"] for h in history], marker="o", label="training loss")
    a.set_title("training loss")
    a.set_ylabel("loss")
    b.plot(epochs, [h["val_f1"] for h in history], marker="o", label="landslide F1")
    b.plot(epochs, [h["val_iou"] for h in history], marker="s", label="landslide IoU")
    b.set_title("validation")
    b.set_ylabel("score")
    b.set_ylim(0, 1)
    b.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    for ax in (a, b):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, Path(path))
