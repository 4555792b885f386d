"""Training: one readable loop (nanoGPT-style), checkpoints that carry their config, resume,
k-fold cross-validation, and DistributedDataParallel when started by ``torchrun``.

Run layout (``OUT/``): ``config.toml``, ``band_stats.json``, ``model.pt`` (best epoch by
validation F1), ``run.json`` (threshold tuned on validation, bands, parameters), ``metrics.json``
(validation metrics at that threshold), ``history.csv``. While training, checkpoints live in
``.OUT.partial/``; the run folder appears only when training ends (atomically), and
``resume=True`` continues from the last checkpoint of an interrupted run.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..bands import Role, get_band_set
from ..config import save_config
from ..errors import ConfigError, DataError
from ..io.atomic import atomic_path, check_can_write, output_dir, write_json, write_text
from ..domains import run_domain
from ..io.open import open_dataset
from ..io.tables import write_table
from .config import SegmentConfig
from .data import load_patches, stratified_holdout
from .infer import SegmentationRun, predict_proba
from .predict import predict_regions
from .losses import create_loss
from .metrics import ConfusionMatrix, ThresholdSweep
from .augment import augment_batch
from .models import count_parameters
from .pipeline import SegmentationPipeline, build_pipeline, engineered_stats
from .plots import plot_history

__all__ = ["train_segmentation", "fit", "TrainResult", "load_split"]

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}
SCHEDULERS = ("cosine", "step", "warmup", "none")


@dataclass
class TrainResult:
    path: Path
    metrics: dict
    threshold: float
    epochs_run: int
    best_epoch: int


def _dist() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def load_split(cfg: SegmentConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training and validation tensors ``(x_train, y_train, x_val, y_val)`` for ``cfg.data``."""
    d = cfg.data
    if not d.root:
        raise ConfigError("data.root is empty; pass --data DIR or set data.root in the config")
    open_ = lambda split: open_dataset(  # noqa: E731
        d.root, split=split or None, band_set=cfg.features.source, require_masks=True, nan_policy=d.nan_policy
    )
    ds = open_(d.train_split)
    if ds.band_set is not None and ds.band_set.name != cfg.features.source:
        raise DataError(f"{d.root}: holds band set {ds.band_set.name!r}; set features.source accordingly")
    x, y, _ = load_patches(ds, d.size)
    if d.val_split:
        xv, yv, _ = load_patches(open_(d.val_split), d.size)
        return x, y, xv, yv
    tr, va = stratified_holdout(y, d.val_fraction, cfg.train.seed)
    return x[tr], y[tr], x[va], y[va]


def _lr_lambda(cfg: SegmentConfig, steps_per_epoch: int):
    t = cfg.train
    if t.scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {t.scheduler!r}; valid: {', '.join(SCHEDULERS)}")
    warm = max(t.warmup_epochs * steps_per_epoch, 1)
    total = max(t.epochs * steps_per_epoch, 1)

    def f(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if t.warmup_epochs else 1.0
        if t.scheduler == "cosine":
            return w * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        if t.scheduler == "step":
            return w * 0.1 ** (step // max(total // 3, 1))
        return w

    return f


def _evaluate(pipeline: nn.Module, x: torch.Tensor, y: torch.Tensor, tta: str = "none", sweep: bool = False):
    probs = predict_proba(pipeline, x, tta)
    if sweep:
        s = ThresholdSweep()
        s.update(probs, y)
        return s.best()
    return 0.5, ConfusionMatrix().update(probs >= 0.5, y).as_dict()


def fit(
    cfg: SegmentConfig,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    workdir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    device: str | None = None,
) -> tuple[SegmentationPipeline, dict, list[dict]]:
    """Train on in-memory tensors; returns the best pipeline, its run info and the history."""
    t = cfg.train
    rank, world = _dist()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if t.threads:
        torch.set_num_threads(t.threads)
    torch.manual_seed(t.seed)
    np.random.seed(t.seed)
    x, y, xv, yv = data
    if len(x) < 1 or len(xv) < 1:
        raise DataError(f"need at least one training and one validation patch (have {len(x)} and {len(xv)})")
    stats = engineered_stats(cfg, x)
    pipeline = build_pipeline(cfg, stats, initialize=True).to(device)
    fmt = torch.channels_last if t.channels_last else torch.contiguous_format
    pipeline = pipeline.to(memory_format=fmt)
    model: nn.Module = pipeline
    if world > 1:
        model = nn.parallel.DistributedDataParallel(pipeline, device_ids=[rank] if device == "cuda" else None)
    if t.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {t.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    extra = {"momentum": 0.9} if t.optimizer in ("sgd", "rmsprop") else {}
    opt = OPTIMIZERS[t.optimizer](pipeline.parameters(), lr=t.lr, weight_decay=t.weight_decay, **extra)
    per_rank = math.ceil(len(x) / world)
    steps = max(math.ceil(per_rank / t.batch_size), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, steps))
    loss_fn = create_loss(t.loss)
    use_amp = t.amp and device == "cuda"
    scaler = torch.amp.GradScaler(enabled=use_amp)
    source = get_band_set(cfg.features.source)
    terrain = {source.roles.get(Role.SLOPE), source.roles.get(Role.DEM)}
    spectral = torch.tensor([b not in terrain for b in source.bands])
    g = torch.Generator(device=device).manual_seed(t.seed + rank)
    history: list[dict] = []
    best = {"f1": -1.0, "epoch": 0, "state": None}
    start = 0
    ckpt = workdir / "last.pt"
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        pipeline.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        g.set_state(state["generator"])
        history = json.loads(state["history"])
        best = {"f1": state["best_f1"], "epoch": state["best_epoch"], "state": state["best_model"]}
        start = state["epoch"]
    from tqdm.auto import tqdm

    a = t.augment
    for epoch in range(start, t.epochs):
        pipeline.train()
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(t.seed * 1000 + epoch))
        perm = torch.cat([perm, perm[: per_rank * world - len(perm)]])[rank::world]  # equal steps on every rank
        t0, total, seen = time.time(), 0.0, 0
        bar = tqdm(range(0, len(perm), t.batch_size), disable=not progress or rank != 0 or not sys.stderr.isatty(), leave=False,
                   desc=f"epoch {epoch + 1}/{t.epochs}")
        for i in bar:
            idx = perm[i : i + t.batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            xb, yb = augment_batch(xb, yb, g, rotate=a.rotate, cutmix_prob=a.cutmix_prob, cutmix_max=a.cutmix_max,
                                   jitter=a.jitter, spectral=spectral)
            xb = xb.contiguous(memory_format=fmt)
            with torch.autocast(device_type="cuda", enabled=use_amp):
                loss = loss_fn(model(xb), yb.long())
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if t.grad_clip > 0:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(pipeline.parameters(), t.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        _, val = _evaluate(pipeline, xv, yv)
        row = {"epoch": epoch + 1, "loss": total / max(seen, 1), "val_f1": val["f1"], "val_iou": val["iou"],
               "lr": sched.get_last_lr()[0], "seconds": time.time() - t0, "patches_per_s": seen * world / (time.time() - t0)}
        history.append(row)
        if progress and rank == 0:
            print(f"epoch {epoch + 1:>3}/{t.epochs}  loss {row['loss']:.4f}  val F1 {val['f1']:.4f}  IoU {val['iou']:.4f}  "
                  f"({row['patches_per_s']:.1f} patches/s)", flush=True)
        if val["f1"] > best["f1"]:
            best = {"f1": val["f1"], "epoch": epoch + 1, "state": {k: v.detach().clone() for k, v in pipeline.state_dict().items()}}
        if rank == 0:
            state = {"model": pipeline.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "generator": g.get_state(), "history": json.dumps(history), "epoch": epoch + 1,
                     "best_f1": best["f1"], "best_epoch": best["epoch"], "best_model": best["state"]}
            with atomic_path(ckpt) as tmp:
                torch.save(state, tmp)
        if t.max_seconds and sum(r["seconds"] for r in history) >= t.max_seconds:  # time budget (ablations)
            if progress and rank == 0:
                print(f"time budget: stopping after {t.max_seconds:g} s of training", flush=True)
            break
        if epoch + 1 - best["epoch"] >= t.patience:
            if progress and rank == 0:
                print(f"early stop: no validation F1 gain for {t.patience} epochs", flush=True)
            break
    if best["state"] is not None:
        pipeline.load_state_dict(best["state"])
    p = cfg.post
    if p.tune_threshold:
        threshold, metrics = _evaluate(pipeline, xv, yv, p.tta, sweep=True)
    else:
        threshold = p.threshold
        probs = predict_proba(pipeline, xv, p.tta)
        metrics = ConfusionMatrix().update(probs >= threshold, yv).as_dict()
    info = {
        "model": cfg.model.name,
        "parameters": count_parameters(pipeline.model),
        "in_bands": list(pipeline.engineer.source.bands),
        "domain": run_domain({}, cfg.features.source).to_dict(),  # input domain (landslide_fusion.domains)
        "out_bands": list(pipeline.engineer.out_bands),
        "threshold": threshold,
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "world_size": world,
        "metrics": metrics,
        "stats": stats.__dict__,
    }
    return pipeline.to(memory_format=torch.contiguous_format), info, history


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        w = csv.DictWriter(buf, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    return buf.getvalue()


def write_run(out: Path, cfg: SegmentConfig, pipeline: SegmentationPipeline, info: dict, history: list[dict],
              overwrite: bool) -> None:
    """Write a complete run folder atomically."""
    from ..stats import BandStats

    with output_dir(out, overwrite) as tmp:
        save_config(cfg, tmp / "config.toml")
        BandStats(**info["stats"]).save(tmp / "band_stats.json")
        torch.save(pipeline.state_dict(), tmp / "model.pt")
        run = {k: v for k, v in info.items() if k != "stats"}
        write_json(tmp / "run.json", run)
        write_json(tmp / "metrics.json", info["metrics"])
        write_text(tmp / "history.csv", _history_csv(history))
        if history:
            plot_history(history, tmp / "curves.png")


def train_segmentation(
    cfg: SegmentConfig,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    folds: int = 0,
    device: str | None = None,
) -> TrainResult:
    """Train a run into ``out`` (or, with ``folds >= 2``, one run per fold plus ``cv.json`` and
    ``oof_stats.csv``: the region statistics of every patch predicted by the fold that held it
    out, the image side of stacking fusion)."""
    out = Path(out)
    check_can_write(out, overwrite)
    if folds >= 2:
        return _cross_validate(cfg, out, folds, overwrite=overwrite, progress=progress, device=device)
    data = load_split(cfg)
    return _train_one(cfg, data, out, overwrite=overwrite, resume=resume, progress=progress, device=device)


def _train_one(cfg, data, out: Path, *, overwrite, resume, progress, device) -> TrainResult:
    rank, world = _dist()
    workdir = out.parent / f".{out.name}.partial"
    if not resume and workdir.exists() and rank == 0:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pipeline, info, history = fit(cfg, data, workdir, resume=resume, progress=progress, device=device)
    if rank == 0:
        write_run(out, cfg, pipeline.cpu(), info, history, overwrite)
        shutil.rmtree(workdir, ignore_errors=True)
    if world > 1:
        torch.distributed.barrier()  # every rank returns once the run folder exists
    return TrainResult(out, info["metrics"], info["threshold"], info["epochs_run"], info["best_epoch"])


def _cross_validate(cfg: SegmentConfig, out: Path, folds: int, *, overwrite, progress, device) -> TrainResult:
    from sklearn.model_selection import StratifiedKFold

    from ..config import check_folds

    d = cfg.data
    ds = open_dataset(d.root, split=d.train_split or None, band_set=cfg.features.source, require_masks=True,
                      nan_policy=d.nan_policy)
    x, y, ids = load_patches(ds, d.size)
    strat = y.flatten(1).amax(1).numpy()
    check_folds(folds, strat, "--folds", "patches")
    skf = StratifiedKFold(folds, shuffle=True, random_state=cfg.train.seed)
    results, oof = [], []
    with output_dir(out, overwrite) as tmp:
        for k, (tr, va) in enumerate(skf.split(np.zeros(len(strat)), strat), start=1):
            if progress:
                print(f"fold {k}/{folds}: {len(tr)} train, {len(va)} validation patches", flush=True)
            r = _train_one(cfg, (x[tr], y[tr], x[va], y[va]), tmp / f"fold_{k}", overwrite=False, resume=False,
                           progress=progress, device=device)
            results.append(r.metrics)
            run = SegmentationRun.load(tmp / f"fold_{k}")
            stats = predict_regions(run, [ds[i] for i in va], d.root)
            oof.append(stats.assign(fold=k))
        write_table(pd.concat(oof).reset_index(), tmp / "oof_stats.csv")
        keys = ("precision", "recall", "f1", "iou", "miou", "mean_f1")
        summary = {
            "folds": folds,
            "per_fold": [{k2: m[k2] for k2 in keys} for m in results],
            "mean": {k2: float(np.mean([m[k2] for m in results])) for k2 in keys},
            "std": {k2: float(np.std([m[k2] for m in results])) for k2 in keys},
        }
        write_json(tmp / "cv.json", summary)
        save_config(cfg, tmp / "config.toml")
    return TrainResult(out, summary["mean"], float("nan"), 0, 0)
