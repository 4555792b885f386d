"""Training: one readable loop (nanoGPT-style) over a streaming DataLoader, checkpoints that
carry their config and a fingerprint of their data, resume, k-fold cross-validation, and
DistributedDataParallel when started by ``torchrun`` (:mod:`.ddp`).

Read :func:`fit` top to bottom: statistics (streamed over the training set), model, optimiser
and schedule, then per epoch: train (:func:`_train_epoch`), validate (:func:`_validate`), keep
the best, checkpoint; then the choice of threshold and gate (:func:`_tune_post`) and the run's info.

**Data.** :class:`~.dataset.PatchDataset` reads one sample per item (``train.workers`` DataLoader
processes, pinned memory on CUDA); items are resized to ``data.size`` or, with ``data.crop``,
random windows at native resolution (validation then scores whole images at their own size).
:class:`~.dataset.EpochSampler` orders each epoch for every DDP rank with equal steps, and can
draw a fixed share of landslide-free patches (``train.negative_fraction``).

**Checkpoint choice.** Each epoch the validation set is predicted once (no TTA) and counted by a
:class:`~..evaluation.metrics.ThresholdSweep`. The monitored score (``train.monitor = "best_f1"``, default) is
the best landslide F1 over the sweep's thresholds. F1 at a fixed 0.5 mixes how well the model
ranks pixels with where its probabilities happen to sit, and the latter drifts between
neighbouring epochs as the logits' bias moves (val F1 at 0.5 swung 0.52-0.72 on Bijie), while the
saved run is used at a threshold tuned on validation anyway. Scoring each epoch at its own best
threshold is what the final tuning maximises, so the chosen epoch is the best one as it will be
used. With ``train.ema > 0`` validation and the saved weights are an exponential moving average
of the weights (Polyak averaging), ``ema_t = d ema_{t-1} + (1 - d) w_t`` with the decay warmed up
as ``d = min(ema, (1 + n) / (10 + n))`` after ``n`` steps (as timm's ``ModelEmaV2``), which
removes the step-to-step noise of the last mini-batches. ``history.csv`` keeps F1 at 0.5
(``val_f1``) beside the monitored ``val_best_f1`` and its ``val_threshold``.

**Threshold and gate.** :func:`_tune_post` predicts every validation image the way ``segment
predict`` will (``predict.predict_array``, with the configured TTA) and chooses the threshold
(and image gate) on the masks at native size against the native masks, for the expected share of
landslide-free regions (:mod:`..evaluation.tuning`), so ``metrics.json`` is the figure a user gets.

**Run layout** (``OUT/``): ``config.toml``, ``band_stats.json``, ``model.pt`` (best epoch),
``run.json`` (threshold tuned on validation, bands, input domain, parameters), ``metrics.json`` (validation
metrics at that threshold), ``history.csv``, ``curves.png``. While training, checkpoints live in
a partial folder of this run only, ``.OUT.partial-<pid>-<random>/`` (see :mod:`.checkpoint`);
the run folder appears only when training ends (atomically); ``resume=True`` continues the last
checkpoint of an interrupted run, and refuses one trained on other settings or data. Every
epoch reseeds the global RNG and the crops from ``(seed, epoch)``, and the checkpoint holds the
augmentation generator, so a killed run resumed gives the uninterrupted result.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...bands import Role, get_band_set
from ...config import save_config
from ...errors import ConfigError, DataError
from ...io.atomic import atomic_path, output_dir, write_json, write_text, writes_output
from ...io.fingerprint import folder_sha256
from ...domains import Domain, training_domain
from ...io.concat import ConcatDataset
from ...io.open import Dataset, open_dataset
from ...io.tables import write_table
from ...progress import stage, track
from .augment import augment_batch
from .checkpoint import LOCK, check_fingerprint, fingerprint, has_work, load_checkpoint, open_workdir
from ..config import SegmentConfig
from ..patches import patch_labels, stratified_holdout
from .dataset import EpochSampler, PatchDataset, make_loader, streamed_stats
from .ddp import rank_and_world, shared_path, wait_for_all, wrap
from ..inference.predict import predict_regions
from ..inference.infer import SegmentationRun, predict_proba
from .losses import create_loss
from ..evaluation.metrics import ThresholdSweep
from ..models import count_parameters
from ..inference.pipeline import SegmentationPipeline, build_pipeline
from ..evaluation.plots import plot_history
from ..evaluation.tuning import SWEEP_FILE, PostChoice, PostSweep, choose_post, run_sweep, sweep_run
from ..weight_files import save_weights

__all__ = ["train_segmentation", "fit", "TrainResult", "Split", "load_split", "labelled_images"]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
SCHEDULERS = ("cosine", "step", "warmup", "none")
MONITORS = ("best_f1", "f1")


@dataclass
class TrainResult:
    path: Path
    metrics: dict
    threshold: float
    epochs_run: int
    best_epoch: int


@dataclass
class Split:
    """Training and validation sets, and the training set's landslide flags (for the sampler)."""

    train: PatchDataset
    val: PatchDataset | None
    labels: np.ndarray


def _open(cfg: SegmentConfig, split: str):
    d = cfg.data
    if not d.root:
        raise ConfigError("data.root is empty; pass --data DIR or set data.root in the config")
    ds = open_dataset(
        d.root, split=split or None, band_set=cfg.features.source, require_masks=True, nan_policy=d.nan_policy
    )
    if ds.band_set is not None and ds.band_set.name != cfg.features.source:
        raise DataError(f"{d.root}: holds band set {ds.band_set.name!r}; set features.source accordingly")
    return ds


def _sets(cfg: SegmentConfig, train, train_idx, val, val_idx, labels: np.ndarray) -> Split:
    """Training items as configured (resized or cropped); validation resized, or whole images in crop mode."""
    d = cfg.data
    return Split(
        PatchDataset(train, train_idx, size=d.size, crop=d.crop, seed=cfg.train.seed, cache=d.cache),
        PatchDataset(val, val_idx, size=0 if d.crop else d.size, cache=d.cache),
        labels,
    )


def load_split(cfg: SegmentConfig) -> Split:
    """The training and validation sets of ``cfg.data`` (lazy; one pass reads the labels)."""
    d = cfg.data
    ds = _open(cfg, d.train_split)
    labels = patch_labels(ds, same_shape=not (d.size or d.crop))
    if d.val_split:
        val = _open(cfg, d.val_split)
        patch_labels(val, same_shape=not d.size and not d.crop)
        return _sets(cfg, ds, None, val, None, labels)
    tr, va = stratified_holdout(labels, d.val_fraction, cfg.train.seed)
    return _sets(cfg, ds, tr, ds, va, labels[tr])


class _Clock:
    """Seconds spent in training epochs (steps and per-epoch validation, summed over epochs and
    resumes) against ``train.max_seconds``."""

    def __init__(self, budget: float, spent: float = 0.0) -> None:
        self.budget, self.spent, self.started = budget, spent, time.time()

    def start_epoch(self, spent: float) -> None:
        self.spent, self.started = spent, time.time()

    def fraction(self) -> float:
        """Share of the budget used (0 without a budget)."""
        return (self.spent + time.time() - self.started) / self.budget if self.budget else 0.0


def _lr_lambda(cfg: SegmentConfig, steps_per_epoch: int, clock: _Clock):
    """Learning-rate factor per step: linear warm-up, then the schedule over the run's length,
    which is ``train.epochs`` of steps, or with ``train.max_seconds`` the time budget (the
    schedule follows the share of the budget spent, so a budgeted run anneals fully whatever the
    machine's speed: every cell of an ablation gets the same seconds and a complete schedule)."""
    t = cfg.train
    if t.scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {t.scheduler!r}; valid: {', '.join(SCHEDULERS)}")
    warm = max(t.warmup_epochs * steps_per_epoch, 1)
    total = max(t.epochs * steps_per_epoch, 1)

    def f(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if t.warmup_epochs else 1.0
        done = min(clock.fraction(), 1.0) if t.max_seconds else min(step, total) / total
        if t.scheduler == "cosine":
            return w * 0.5 * (1 + math.cos(math.pi * done))
        if t.scheduler == "step":
            return w * 0.1 ** min(int(done * 3), 2)
        return w

    return f


@dataclass
class _Parts:
    """What a training step touches: the pipeline (and its DDP wrapper ``model``), the weight
    average, optimiser, schedule, AMP scaler, augmentation generator and loss."""

    pipeline: SegmentationPipeline
    model: nn.Module
    ema: SegmentationPipeline | None
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    g: torch.Generator
    loss_fn: Callable
    spectral: torch.Tensor
    fmt: torch.memory_format
    clock: _Clock

    @property
    def scored(self) -> SegmentationPipeline:
        """The weights validated and saved: the moving average when there is one."""
        return self.ema if self.ema is not None else self.pipeline


@dataclass
class _Progress:
    """What a checkpoint restores besides the modules."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = 0
    best_state: dict | None = None


def _build(cfg: SegmentConfig, stats, device: str, rank: int, world: int, steps: int) -> _Parts:
    """Model (DDP-wrapped when distributed), weight average, optimiser and schedule."""
    t = cfg.train
    fmt = torch.channels_last if t.channels_last else torch.contiguous_format
    pipeline = build_pipeline(cfg, stats, initialize=True).to(device).to(memory_format=fmt)
    model = wrap(pipeline, rank, world, device)
    ema = None
    if t.ema > 0:  # a second pipeline holding the average (deepcopy cannot copy the band sets)
        ema = build_pipeline(cfg, stats).to(device).to(memory_format=fmt).requires_grad_(False)
        ema.load_state_dict(pipeline.state_dict())
    if t.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {t.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    extra = {"momentum": 0.9} if t.optimizer in ("sgd", "rmsprop") else {}
    opt = OPTIMIZERS[t.optimizer](pipeline.parameters(), lr=t.lr, weight_decay=t.weight_decay, **extra)
    clock = _Clock(t.max_seconds)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, steps, clock))
    source = get_band_set(cfg.features.source)
    terrain = {source.roles.get(Role.SLOPE), source.roles.get(Role.DEM)}
    spectral = torch.tensor([b not in terrain for b in source.bands])
    g = torch.Generator(device=device).manual_seed(t.seed + rank)
    scaler = torch.amp.GradScaler(enabled=t.amp and device == "cuda")
    return _Parts(pipeline, model, ema, opt, sched, scaler, g, create_loss(t.loss), spectral, fmt, clock)


@torch.no_grad()
def _ema_update(ema: nn.Module, pipeline: nn.Module, decay: float, step: int) -> None:
    d = min(decay, (1 + step) / (10 + step))
    for e, w in zip(ema.state_dict().values(), pipeline.state_dict().values()):
        if e.dtype.is_floating_point:
            e.mul_(d).add_(w.detach(), alpha=1 - d)
        else:
            e.copy_(w)


def _train_epoch(p: _Parts, loader, cfg: SegmentConfig, device: str, desc: str, bar: bool) -> tuple[float, int, float]:
    """One pass over ``loader``: (mean loss, patches seen, seconds)."""
    t, a = cfg.train, cfg.train.augment
    p.pipeline.train()
    t0, total, seen = time.time(), 0.0, 0
    for xb, yb in track(loader, desc, enabled=bar):
        if p.clock.fraction() >= 1:  # the time budget is spent: stop mid-epoch
            break
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        xb, yb = augment_batch(
            xb,
            yb,
            p.g,
            rotate=a.rotate,
            cutmix_prob=a.cutmix_prob,
            cutmix_max=a.cutmix_max,
            jitter=a.jitter,
            spectral=p.spectral,
        )
        xb = xb.contiguous(memory_format=p.fmt)
        with torch.autocast(device_type="cuda", enabled=p.scaler.is_enabled()):
            loss = p.loss_fn(p.model(xb), yb.long())
        p.opt.zero_grad(set_to_none=True)
        p.scaler.scale(loss).backward()
        if t.grad_clip > 0:
            p.scaler.unscale_(p.opt)
            nn.utils.clip_grad_norm_(p.pipeline.parameters(), t.grad_clip)
        p.scaler.step(p.opt)
        p.scaler.update()
        p.sched.step()
        if p.ema is not None:
            _ema_update(p.ema, p.pipeline, t.ema, p.sched.last_epoch)
        total += float(loss.detach()) * len(xb)
        seen += len(xb)
    return total / max(seen, 1), seen, time.time() - t0


def _val_loader(cfg: SegmentConfig, val: PatchDataset):
    """Per-epoch validation batches: whole native images one by one in crop mode (sizes vary),
    else resized batches (cheap; the final tuning scores every image at native size)."""
    return make_loader(val, 1 if val.crop or not val.size else cfg.train.batch_size, workers=cfg.train.workers)


def _validate(pipeline: nn.Module, loader) -> dict[str, float]:
    """The epoch's validation columns: F1 and IoU at 0.5, and the best F1 of the sweep with its threshold."""
    sweep = ThresholdSweep()
    for xb, yb in loader:
        sweep.update(predict_proba(pipeline, xb, "none"), yb)
    half = sweep.cms[int(np.argmin(np.abs(sweep.thresholds - 0.5)))].as_dict()
    threshold, best = sweep.best()
    return {"val_f1": half["f1"], "val_iou": half["iou"], "val_best_f1": best["f1"], "val_threshold": threshold}


def _tune_post(
    pipeline: SegmentationPipeline, val: PatchDataset, cfg: SegmentConfig, domain: Domain
) -> tuple[PostChoice, PostSweep]:
    """The decision threshold and image gate (tuned, or ``post.threshold``/``post.gate``) and the
    validation metrics there (:mod:`..evaluation.tuning`), scored at native size against the native masks:
    each validation image is predicted exactly as ``segment predict`` will
    (:func:`~..inference.predict.predict_regions`: sliding windows of the crop size, or resized to
    ``data.size`` and back), with the configured TTA and morphology."""
    run = SegmentationRun(Path(), cfg, pipeline, cfg.post.threshold, {"domain": domain.to_dict()})
    sweep = sweep_run(run, (val.sample(i) for i in range(len(val))), "the validation set")
    return choose_post(sweep, cfg), sweep


def _save_checkpoint(path: Path, p: _Parts, prog: _Progress, fp: dict) -> None:
    state = {
        "model": p.pipeline.state_dict(),
        "optimizer": p.opt.state_dict(),
        "scheduler": p.sched.state_dict(),
        "scaler": p.scaler.state_dict(),
        "generator": p.g.get_state(),
        "ema": None if p.ema is None else p.ema.state_dict(),
        "history": json.dumps(prog.history),
        "epoch": prog.epoch,
        "best_f1": prog.best_score,
        "best_epoch": prog.best_epoch,
        "best_model": prog.best_state,
        "fingerprint": json.dumps(fp),
    }
    with atomic_path(path) as tmp:
        save_weights(state, tmp)


def _restore(path: Path, p: _Parts, fp: dict, device: str) -> _Progress:
    """Load a checkpoint into ``p`` after checking it was trained on ``fp``."""
    state = load_checkpoint(path, device)
    check_fingerprint(state.get("fingerprint"), fp, path)
    try:
        p.pipeline.load_state_dict(state["model"])
        if p.ema is not None:
            p.ema.load_state_dict(state["ema"])
    except RuntimeError as e:
        raise DataError(
            f"{path}: the checkpoint's weights do not fit this model ({str(e).splitlines()[0]}); "
            "train afresh without --resume"
        ) from None
    p.opt.load_state_dict(state["optimizer"])
    p.sched.load_state_dict(state["scheduler"])
    if p.scaler.is_enabled() and state.get("scaler"):
        p.scaler.load_state_dict(state["scaler"])
    p.g.set_state(state["generator"])
    return _Progress(
        state["epoch"], json.loads(state["history"]), state["best_f1"], state["best_epoch"], state["best_model"]
    )


def _keep_best(prog: _Progress, row: dict, scored: nn.Module, monitor: str) -> None:
    prog.history.append(row)
    prog.epoch = row["epoch"]
    if "val_f1" not in row:  # no validation set: the last epoch is the run
        prog.best_epoch = row["epoch"]
        return
    score = row["val_best_f1" if monitor == "best_f1" else "val_f1"]
    if score > prog.best_score:
        prog.best_score, prog.best_epoch = score, row["epoch"]
        prog.best_state = {k: v.detach().clone() for k, v in scored.state_dict().items()}


def _training_domain(cfg: SegmentConfig, train: PatchDataset) -> Domain:
    """The domain of the run's inputs: the value scale the training files declare (that of the
    first; :attr:`~landslide_fusion.io.sample.Sample.scale`), else the band set's documented default."""
    first = train.sample(0)
    return training_domain(cfg.features.source, first.scale, first.image, f"{cfg.data.root}: image {first.id}")


def _run_info(
    cfg: SegmentConfig,
    pipeline: SegmentationPipeline,
    stats,
    post: PostChoice,
    prog: _Progress,
    world: int,
    domain: Domain,
) -> dict:
    return {
        "model": cfg.model.name,
        "parameters": count_parameters(pipeline.model),
        "in_bands": list(pipeline.engineer.source.bands),
        "domain": domain.to_dict(),  # input domain (landslide_fusion.domains), checked by every prediction
        "out_bands": list(pipeline.engineer.out_bands),
        "threshold": post.threshold,
        "gate": post.gate,
        "data_sha256": folder_sha256(cfg.data.root),  # what it learned from, compared by fusion provenance
        "best_epoch": prog.best_epoch,
        "epochs_run": len(prog.history),
        "world_size": world,
        "metrics": post.metrics,
        "stats": stats.__dict__,
    }


def fit(
    cfg: SegmentConfig,
    split: Split,
    workdir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    device: str | None = None,
    post: PostChoice | None = None,
) -> tuple[SegmentationPipeline, dict, list[dict], PostSweep | None]:
    """Train on ``split``; returns the best pipeline, its run info, the history and the sweep its
    threshold and gate were chosen on. A split without validation set (``split.val`` None: the
    refit of a k-fold on every image) trains for ``train.epochs`` (or the time budget) and keeps
    the last weights, with the post-processing ``post`` chosen elsewhere."""
    t = cfg.train
    rank, world = rank_and_world()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if t.threads:
        torch.set_num_threads(t.threads)
    torch.manual_seed(t.seed)
    np.random.seed(t.seed)
    n_val = len(split.val) if split.val is not None else None
    if len(split.train) < 1 or n_val == 0:
        raise DataError(f"need at least one training and one validation patch (have {len(split.train)} and {n_val})")
    if split.val is None and post is None:
        raise ConfigError("training without a validation set needs the post-processing chosen elsewhere")
    domain = _training_domain(cfg, split.train)  # refused before any work when the files' scale is impossible
    stats = streamed_stats(cfg, split.train)
    sampler = EpochSampler(split.labels, rank=rank, world=world, seed=t.seed, negative_fraction=t.negative_fraction)
    loader = make_loader(
        split.train, t.batch_size, workers=t.workers, sampler=sampler, pin=device == "cuda", drop_single=True
    )
    val_loader = _val_loader(cfg, split.val) if split.val is not None else None
    p = _build(cfg, stats, device, rank, world, steps=len(loader))
    prog, fp, ckpt = _Progress(), fingerprint(cfg), workdir / "last.pt"
    if resume and ckpt.is_file():
        prog = _restore(ckpt, p, fp, device)
    say = progress and rank == 0
    for epoch in range(prog.epoch, t.epochs):
        torch.manual_seed(t.seed * 1000 + epoch)  # the global RNG, as an uninterrupted run has it
        sampler.set_epoch(epoch)
        split.train.set_epoch(epoch)
        t0 = time.time()
        p.clock.start_epoch(sum(r["seconds"] for r in prog.history))
        loss, seen, secs = _train_epoch(
            p, loader, cfg, device, f"epoch {epoch + 1}/{t.epochs}", say and sys.stderr.isatty()
        )
        scores = _validate(p.scored, val_loader) if val_loader is not None else {}
        row = {
            "epoch": epoch + 1,
            "loss": loss,
            **scores,
            "lr": p.sched.get_last_lr()[0],
            "seconds": time.time() - t0,
            "patches_per_s": seen * world / max(secs, 1e-9),
        }
        _keep_best(prog, row, p.scored, t.monitor)
        val = (
            f"  val F1 {row['val_f1']:.4f} (best {row['val_best_f1']:.4f} at {row['val_threshold']:.2f})  "
            f"IoU {row['val_iou']:.4f}"
            if scores
            else ""
        )
        stage(f"epoch {epoch + 1:>3}/{t.epochs}  loss {loss:.4f}{val}  ({row['patches_per_s']:.1f} patches/s)", say)
        if rank == 0:
            _save_checkpoint(ckpt, p, prog, fp)
        if p.clock.fraction() >= 1:  # time budget (ablations)
            stage(f"time budget: stopping after {t.max_seconds:g} s of training", say)
            break
        if scores and epoch + 1 - prog.best_epoch >= t.patience:
            stage(f"early stop: no validation {t.monitor} gain for {t.patience} epochs", say)
            break
    if prog.best_state is not None:
        p.pipeline.load_state_dict(prog.best_state)
    sweep = None
    if post is None:
        post, sweep = _tune_post(p.pipeline, split.val, cfg, domain)
    info = _run_info(cfg, p.pipeline, stats, post, prog, world, domain)
    return p.pipeline.to(memory_format=torch.contiguous_format), info, prog.history, sweep


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        w = csv.DictWriter(buf, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    return buf.getvalue()


def write_run(
    out: Path,
    cfg: SegmentConfig,
    pipeline: SegmentationPipeline,
    info: dict,
    history: list[dict],
    overwrite: bool,
    sweep: PostSweep | None = None,
) -> None:
    """Write a complete run folder atomically."""
    with output_dir(out, overwrite) as tmp:
        write_run_files(tmp, cfg, pipeline, info, history, sweep)


def write_run_files(
    folder: Path,
    cfg: SegmentConfig,
    pipeline: SegmentationPipeline,
    info: dict,
    history: list[dict],
    sweep: PostSweep | None,
) -> None:
    """The files of a run (module docstring) into ``folder``."""
    from ...stats import BandStats

    save_config(cfg, folder / "config.toml")
    BandStats(**info["stats"]).save(folder / "band_stats.json")
    save_weights(pipeline.state_dict(), folder / "model.pt")
    write_json(folder / "run.json", {k: v for k, v in info.items() if k != "stats"})
    write_json(folder / "metrics.json", info["metrics"])
    if history:  # an ensemble of fold runs was not trained itself: each fold keeps its history
        write_text(folder / "history.csv", _history_csv(history))
    if sweep is not None:
        sweep.save(folder / SWEEP_FILE)
    if any("val_f1" in row for row in history):
        plot_history(history, folder / "curves.png")


@writes_output("out")  # checked, and held from here to the commit: one writer for the whole training
def train_segmentation(
    cfg: SegmentConfig,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    folds: int = 0,
    refit: bool = True,
    device: str | None = None,
) -> TrainResult:
    """Train a run into ``out``, or with ``folds >= 2`` a k-fold over every labelled image
    (:func:`_cross_validate`: fold runs, out-of-fold statistics, and with ``refit`` the run used
    for prediction at the folder's root)."""
    out = Path(out)
    if folds >= 2:
        return _cross_validate(
            cfg, out, folds, overwrite=overwrite, resume=resume, refit=refit, progress=progress, device=device
        )
    return _train_one(
        cfg, lambda: load_split(cfg), out, overwrite=overwrite, resume=resume, progress=progress, device=device
    )


def _train_one(
    cfg: SegmentConfig, load: Callable[[], Split], out: Path, *, overwrite, resume, progress, device
) -> TrainResult:
    """Claim this run's partial folder (refusing at once if another run holds one), load the
    data, fit, and commit the run folder; an interrupted run keeps its checkpoint for ``resume``."""
    rank, world = rank_and_world()
    work = open_workdir(out, resume) if rank == 0 else None
    workdir = shared_path(work.path if work else None, world)
    try:
        pipeline, info, history, sweep = fit(cfg, load(), workdir, resume=resume, progress=progress, device=device)
        if rank == 0:
            write_run(out, cfg, pipeline.cpu(), info, history, overwrite, sweep)
    except BaseException:
        if work is not None:
            work.release(remove=not (work.path / "last.pt").is_file())
        raise
    if work is not None:
        work.release(remove=True)
    wait_for_all(world)  # every rank returns once the run folder exists
    return TrainResult(out, info["metrics"], info["threshold"], info["epochs_run"], info["best_epoch"])


def labelled_images(cfg: SegmentConfig) -> Dataset:
    """Every labelled image the config names: ``data.train_split`` and ``data.val_split`` pooled
    (or the whole folder without a training split)."""
    d = cfg.data
    ds = _open(cfg, d.train_split)
    if not d.val_split:
        return ds
    return ConcatDataset([ds, _open(cfg, d.val_split)], [f"split {d.train_split!r}", f"split {d.val_split!r}"])


def _cross_validate(
    cfg: SegmentConfig, out: Path, folds: int, *, overwrite, resume, refit, progress, device
) -> TrainResult:
    """k-fold over every labelled image (:func:`labelled_images`), stratified by "holds a landslide".

    1. Each fold trains on the other folds and chooses its epoch on its own (``fold_i/``).
    2. The out-of-fold sweep (every image's mask counts, from the fold that held it out: the fold
       runs' own ``sweep.csv``) chooses the threshold and gate for ``post.landslide_free_share``;
       the cross-fitted figures of that choice, at that share, are the estimate for unseen images.
    3. ``oof_stats.csv``: every image's region statistics from the fold that held it out, with that
       threshold and gate (the image side of stacking, at the post-processing used in prediction).
    4. With ``refit``, the run used for prediction is written at the folder's root (``model.pt``,
       ``run.json``, ``sweep.csv`` = the out-of-fold sweep) with that threshold and gate: by
       default (``train.final = "ensemble"``) the fold models averaged
       (:class:`~..inference.ensemble.FoldEnsemble`), with ``train.final = "refit"`` one more model
       trained on every image for ``train.epochs`` (no validation set: the last weights).

    Work happens in a partial folder kept when interrupted: ``resume`` keeps the finished folds
    and resumes the interrupted fold (or the refit) from its checkpoint.
    """
    from sklearn.model_selection import StratifiedKFold

    from ...config import check_folds

    d = cfg.data
    ds = labelled_images(cfg)
    labels = patch_labels(ds, same_shape=not (d.size or d.crop))
    check_folds(folds, labels, "--folds", "patches")
    splits = list(
        StratifiedKFold(folds, shuffle=True, random_state=cfg.train.seed).split(np.zeros(len(labels)), labels)
    )
    work = open_workdir(out, resume)
    try:
        runs = []
        for k, (tr, va) in enumerate(splits, start=1):
            fold = work.path / f"fold_{k}"
            if (fold / "run.json").is_file():
                stage(f"fold {k}/{folds}: finished earlier, kept", progress)
            else:
                stage(f"fold {k}/{folds}: {len(tr)} train, {len(va)} validation patches", progress)
                split = _sets(cfg, ds, tr, ds, va, labels[tr])
                _train_one(cfg, lambda: split, fold, overwrite=False, resume=resume, progress=progress, device=device)
            runs.append(SegmentationRun.load(fold))
        sweep = PostSweep.concat([run_sweep(r) for r in runs])
        choice = choose_post(sweep, cfg)
        stage(
            f"out-of-fold choice over {len(sweep.ids)} images: threshold {choice.threshold:.2f}, "
            f"gate {choice.gate:.3g}",
            progress,
        )
        if not (work.path / "oof_stats.csv").is_file():  # resumed after it was written: the same choice made it
            oof = [
                predict_regions(
                    replace(r, threshold=choice.threshold, info={**r.info, "gate": choice.gate}),
                    (ds[int(i)] for i in va),
                    str(d.root),
                ).assign(fold=k)
                for k, (r, (_, va)) in enumerate(zip(runs, splits), start=1)
            ]
            write_table(pd.concat(oof).reset_index(), work.path / "oof_stats.csv")
        summary = _cv_summary([r.info["metrics"] for r in runs], runs, choice)
        if refit and cfg.train.final == "ensemble":
            _ensemble(cfg, ds, runs, choice, sweep, work.path, progress=progress)
        elif refit:
            _refit(cfg, ds, labels, choice, sweep, work.path, resume=resume, progress=progress, device=device)
        write_json(work.path / "cv.json", summary)
        save_config(cfg, work.path / "config.toml")
        with output_dir(out, overwrite) as tmp:
            for entry in work.path.iterdir():
                if entry.name != LOCK and not entry.name.startswith("."):
                    entry.rename(tmp / entry.name)
    except BaseException:
        work.release(remove=not has_work(work.path))  # finished folds and checkpoints stay for --resume
        raise
    work.release(remove=True)
    return TrainResult(out, choice.metrics, choice.threshold, 0, 0)


def _cv_summary(metrics: list[dict], runs: list[SegmentationRun], choice: PostChoice) -> dict:
    keys = ("precision", "recall", "f1", "iou", "miou", "mean_f1")
    return {
        "folds": len(metrics),
        "per_fold": [{k: m[k] for k in keys} for m in metrics],
        "mean": {k: float(np.mean([m[k] for m in metrics])) for k in keys},
        "std": {k: float(np.std([m[k] for m in metrics])) for k in keys},
        "best_epochs": [r.info.get("best_epoch") for r in runs],
        "out_of_fold": choice.metrics,
        "threshold": choice.threshold,
        "gate": choice.gate,
    }


def _ensemble(
    cfg: SegmentConfig,
    ds: Dataset,
    runs: list[SegmentationRun],
    choice: PostChoice,
    sweep: PostSweep,
    folder: Path,
    *,
    progress: bool,
) -> None:
    """Write the fold runs averaged (:class:`~..inference.ensemble.FoldEnsemble`) as the run at
    ``folder``'s root, with the out-of-fold threshold, gate and figures and the band statistics of
    every image (the input check's reference); the rest of its ``run.json`` (model, bands, input
    domain, data hash) is the fold runs' own."""
    from ..inference.ensemble import FoldEnsemble

    d = cfg.data
    stage(f"the {len(runs)} fold models averaged: the run used for prediction", progress)
    stats = streamed_stats(cfg, PatchDataset(ds, None, size=d.size, crop=d.crop, seed=cfg.train.seed))
    info = {
        **runs[0].info,
        "parameters": sum(int(r.info["parameters"]) for r in runs),
        "threshold": choice.threshold,
        "gate": choice.gate,
        "best_epoch": None,
        "epochs_run": 0,
        "metrics": choice.metrics,
        "stats": stats.__dict__,
        "ensemble": {
            "members": len(runs),
            "folds": [r.path.name for r in runs],
            "threshold_from": "out-of-fold sweep (sweep.csv)",
        },
    }
    write_run_files(folder, cfg, FoldEnsemble([r.pipeline for r in runs]), info, [], sweep)


def _refit(
    cfg: SegmentConfig,
    ds: Dataset,
    labels: np.ndarray,
    choice: PostChoice,
    sweep: PostSweep,
    folder: Path,
    *,
    resume: bool,
    progress: bool,
    device: str | None,
) -> None:
    """Train on every image and write the run's files into ``folder`` (checkpoints in ``.refit/``)."""
    d = cfg.data
    stage(f"refit on all {len(labels)} images for {cfg.train.epochs} epochs", progress)
    ckpt = folder / ".refit"
    ckpt.mkdir(exist_ok=True)
    split = Split(PatchDataset(ds, None, size=d.size, crop=d.crop, seed=cfg.train.seed, cache=d.cache), None, labels)
    pipeline, info, history, _ = fit(cfg, split, ckpt, resume=resume, progress=progress, device=device, post=choice)
    info["refit"] = {"images": len(labels), "threshold_from": "out-of-fold sweep (sweep.csv)"}
    write_run_files(folder, cfg, pipeline.cpu(), info, history, sweep)
    shutil.rmtree(ckpt, ignore_errors=True)
