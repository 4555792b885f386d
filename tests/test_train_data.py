"""Streaming training data (#11), native-resolution crops (#12), and resumable, exclusive runs (#13)."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from landslide_fusion.config import load_config
from landslide_fusion.errors import ConfigError, DataError
from landslide_fusion.io.open import open_dataset
from landslide_fusion.io.sample import Sample
from landslide_fusion.segmentation import SegmentationRun, SegmentConfig, train_segmentation
from landslide_fusion.io.fingerprint import _VERSIONS
from landslide_fusion.segmentation.training.checkpoint import differences, fingerprint, open_workdir
from landslide_fusion.segmentation.patches import crop_patch, resize_patch
from landslide_fusion.segmentation.training.dataset import EpochSampler, PatchDataset, make_loader, streamed_stats
from landslide_fusion.segmentation.inference.pipeline import engineered_stats

TINY = ["model.widths=[4, 8, 8, 16, 16]", "train.batch_size=4", 'post.tta="none"', "train.warmup_epochs=0"]


def _cfg(root, *extra):
    return load_config(SegmentConfig, None, [f'data.root="{root}"', *TINY, *extra])


def _sample(h, w, landslide=True, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), dtype=np.int64)
    if landslide:
        mask[: h // 2, : w // 2] = 1
    return Sample(id=f"s{seed}", image=rng.random((3, h, w), dtype=np.float32), bands=("r", "g", "b"), mask=mask)


def _stacked(samples, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference the streamed path must equal: every sample resized, then stacked at once."""
    pairs = [resize_patch(s.image, s.mask, size) for s in samples]
    return torch.stack([x for x, _ in pairs]).float(), torch.stack([m.to(torch.uint8) for _, m in pairs])


def test_dataset_items_equal_the_stacked_path(l4s_root):
    ds = open_dataset(l4s_root, require_masks=True)
    x, y = _stacked(ds, 24)
    items = PatchDataset(ds, size=24)
    xb, yb = next(iter(make_loader(items, 5, workers=2)))
    assert torch.equal(xb, x[:5]) and torch.equal(yb, y[:5]) and yb.dtype == torch.uint8


def test_streamed_stats_equal_stacked_stats(l4s_root):
    cfg = _cfg(l4s_root, "data.size=24")
    ds = open_dataset(l4s_root, require_masks=True)
    stacked = engineered_stats(cfg, _stacked(ds, 24)[0])
    streamed = streamed_stats(cfg, PatchDataset(ds, size=24))
    np.testing.assert_allclose(streamed.mean, stacked.mean, rtol=1e-6)
    np.testing.assert_allclose(streamed.std, stacked.std, rtol=1e-5)


def test_crop_pads_small_images_by_reflection_with_their_mask():
    """Each output pixel is a mirrored copy of an input pixel, and its label travels with it."""
    h, w = 5, 40
    rows, cols = np.mgrid[:h, :w]
    image = np.stack([rows * 100.0 + cols] * 2).astype(np.float32)
    mask = ((rows + cols) % 3 == 0).astype(np.int64)
    x, m = crop_patch(image, mask, 16, np.random.default_rng(0))
    assert x.shape == (2, 16, 16) and m.shape == (16, 16)
    r, c = (x[0] // 100).long(), (x[0] % 100).long()
    assert set(r.unique().tolist()) == set(range(h))  # all 5 rows used, mirrored to fill 16
    assert torch.equal(m.long(), torch.from_numpy(mask)[r, c])
    assert (r[:-1] - r[1:]).abs().max() <= 1  # mirror, not wrap: neighbours stay neighbours


def test_crop_dataset_is_deterministic_per_epoch_and_worker_count():
    samples = [_sample(70, 50, seed=i) for i in range(4)]
    ds = PatchDataset(samples, crop=32, seed=7)
    first = [ds[i][0] for i in range(4)]
    with_workers = torch.cat([xb for xb, _ in make_loader(ds, 2, workers=2)])
    assert all(torch.equal(a, b) for a, b in zip(first, with_workers))
    ds.set_epoch(1)
    assert not torch.equal(ds[0][0], first[0])


def test_sampler_equal_steps_per_rank_and_negative_fraction():
    labels = np.array([1] * 3 + [0] * 7)
    ranks = [list(EpochSampler(labels, rank=r, world=3, seed=1)) for r in range(3)]
    assert [len(r) for r in ranks] == [4, 4, 4] and set(sum(ranks, [])) == set(range(10))
    s = EpochSampler(labels, seed=1, negative_fraction=0.2)
    drawn = []
    for e in range(20):
        s.set_epoch(e)
        drawn += list(s)
    assert abs(np.mean(labels[drawn] == 0) - 0.2) < 1e-9 and len(drawn) == 200


def test_runs_record_the_scale_their_training_files_declare():
    from dataclasses import replace

    from landslide_fusion.domains import Domain
    from landslide_fusion.segmentation.training.train import _training_domain

    cfg = load_config(SegmentConfig, None, ['features.source="rgbn"', 'features.preset="rgbn4"'])
    s = Sample(
        "a", np.zeros((4, 8, 8), np.float32), ("RED", "GREEN", "BLUE", "NIR"), np.zeros((8, 8), np.int64), scale="uint8"
    )
    assert _training_domain(cfg, PatchDataset([s])) == Domain("rgbn", "uint8")  # e.g. 8-bit GeoTIFFs
    assert _training_domain(cfg, PatchDataset([replace(s, scale=None)])) == Domain("rgbn", "s2-dn")  # the default


def test_settings_out_of_range_are_config_errors(l4s_root, tmp_path):
    for bad in (
        "train.epochs=0",
        "train.batch_size=-4",
        "train.workers=-1",
        "train.ema=1.0",
        'train.monitor="loss"',
        "data.crop=24",
    ):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            train_segmentation(_cfg(l4s_root, bad), tmp_path / "x", progress=False)
    assert not list(tmp_path.iterdir())


def test_native_crop_training_with_workers_and_negative_fraction(tmp_path):
    from landslide_fusion.synth import write_synth_l4s

    root = tmp_path / "d"
    write_synth_l4s(root, n=8, size=40, seed=5)
    cfg = _cfg(
        root, "data.crop=32", "train.epochs=1", "train.workers=2", "train.negative_fraction=0.5", "train.ema=0.9"
    )
    r = train_segmentation(cfg, tmp_path / "run", progress=False)
    run = SegmentationRun.load(tmp_path / "run")
    from landslide_fusion.segmentation.inference.predict import predict_array

    assert predict_array(run, np.random.rand(14, 50, 40).astype(np.float32) + 0.5).shape == (50, 40)
    assert 0 < r.threshold < 1 and r.epochs_run == 1
    assert "val_best_f1" in (tmp_path / "run" / "history.csv").read_text()


def test_second_run_to_one_output_is_refused_at_once(tmp_path):
    out = tmp_path / "run"
    first = open_workdir(out, resume=False)
    try:
        with pytest.raises(DataError, match=f"pid {os.getpid()}.*lock"):
            open_workdir(out, resume=False)
    finally:
        (first.path / "last.pt").write_bytes(b"")
        first.release(remove=False)
    assert len(list(tmp_path.iterdir())) == 1
    again = open_workdir(out, resume=True)  # the lock died with its holder: resume takes the folder over
    assert again.path == first.path
    again.release(remove=True)
    assert not list(tmp_path.iterdir())


def test_fingerprint_names_what_differs(l4s_root):
    a = fingerprint(_cfg(l4s_root, "train.lr=0.001"))
    b = fingerprint(_cfg(l4s_root, "train.lr=0.01", "train.threads=3", 'model.name="unet"'))
    assert differences(a, b) == [
        'model.name: "rau-net-small" -> "unet"',
        'model.options.attention: "mha" -> "none"',
        "model.options.dropout: 0.0 -> 0.2",
        'model.options.heads: "multi" -> "mono"',
        "train.lr: 0.001 -> 0.01",
    ]
    b["data"] = {k: [0, "0"] for k in list(b["data"])[:3]} | {k: v for k, v in list(b["data"].items())[3:]}
    assert differences(a, b)[-1] == "data: 3 file(s) differ"


def test_fingerprint_follows_the_bytes_not_the_modification_times(l4s_root, tmp_path):
    """Data copied again (new modification times, same bytes) resumes; a file edited in place
    with its old modification time restored does not."""
    root = shutil.copytree(l4s_root, tmp_path / "data")
    cfg = _cfg(root)
    before = fingerprint(cfg)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for p in files:
        os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    assert differences(before, fingerprint(cfg)) == []
    edited = files[0]
    mtime = edited.stat().st_mtime_ns
    data = bytearray(edited.read_bytes())
    data[-1] ^= 1
    edited.write_bytes(bytes(data))
    os.utime(edited, ns=(mtime, mtime))
    _VERSIONS.clear()  # a resume is a new process: nothing hashed yet
    assert differences(before, fingerprint(cfg)) == ["data: 1 file(s) differ"]


def test_interrupted_before_any_checkpoint_leaves_nothing(l4s_root, tmp_path, monkeypatch):
    import landslide_fusion.segmentation.training.train as T

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(T, "_validate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train_segmentation(_cfg(l4s_root, "train.epochs=2"), tmp_path / "run", progress=False)
    assert not list(tmp_path.iterdir())


def _train_cmd(root, out, *extra):
    sets = [f'data.root="{root}"', *TINY, "train.epochs=6", "train.threads=1", *extra]
    code = (
        "import sys; from landslide_fusion.config import load_config; "
        "from landslide_fusion.segmentation import SegmentConfig, train_segmentation; "
        "cfg = load_config(SegmentConfig, None, sys.argv[3:]); "
        "train_segmentation(cfg, sys.argv[1], resume=sys.argv[2] == '1', progress=False)"
    )
    return lambda resume: [sys.executable, "-c", code, str(out), "1" if resume else "0", *sets]


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_result(l4s_root, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    ref, out = tmp_path / "ref", tmp_path / "run"
    subprocess.run(_train_cmd(l4s_root, ref)(False), check=True, env=env, timeout=600)
    cmd = _train_cmd(l4s_root, out)
    proc = subprocess.Popen(cmd(False), env=env)
    while not list(tmp_path.glob(".run.partial-*/last.pt")) and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(np.random.default_rng().uniform(0, 1.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(cmd(True), check=True, env=env, timeout=600)
    a, b = torch.load(ref / "model.pt"), torch.load(out / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (ref / "metrics.json").read_text() == (out / "metrics.json").read_text()
    assert not list(tmp_path.glob(".run*"))


def test_resume_with_other_lr_or_model_is_refused(l4s_root, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "run"
    code = (
        "import sys; from landslide_fusion.config import load_config; "
        "import landslide_fusion.segmentation.training.train as T; "
        "from landslide_fusion.segmentation import SegmentConfig; "
        "cfg = load_config(SegmentConfig, None, sys.argv[2:]); real = T._save_checkpoint; "
        "T._save_checkpoint = lambda *a: (real(*a), __import__('os')._exit(9)); "
        "T.train_segmentation(cfg, sys.argv[1], progress=False)"
    )
    sets = [f'data.root="{l4s_root}"', *TINY, "train.epochs=3", "train.threads=1"]
    assert subprocess.run([sys.executable, "-c", code, str(out), *sets], env=env, timeout=600).returncode == 9
    for extra, expected in (
        ("train.lr=0.01", "train.lr: 0.001 -> 0.01"),
        ('model.name="unet"', 'model.name: "rau-net-small" -> "unet"'),
    ):
        cfg = load_config(SegmentConfig, None, [*sets, extra])
        with pytest.raises(DataError, match=expected):
            train_segmentation(cfg, out, resume=True, progress=False)
    assert len(list(tmp_path.glob(".run.partial-*/last.pt"))) == 1


def test_cli_second_train_to_one_output_fails_at_once(l4s_root, tmp_path):
    from typer.testing import CliRunner

    from landslide_fusion.cli import app

    held = open_workdir(tmp_path / "run", resume=False)
    try:
        r = CliRunner().invoke(app, ["segment", "train", "--data", str(l4s_root), "-o", str(tmp_path / "run")])
    finally:
        held.release(remove=True)
    assert r.exit_code == 1 and r.stderr.startswith("error:") and f"pid {os.getpid()}" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_training_loader_drops_only_a_trailing_batch_of_one():
    data = torch.utils.data.TensorDataset(torch.arange(9.0))
    sizes = lambda loader: [len(b[0]) for b in loader]  # noqa: E731
    assert sizes(make_loader(data, 4, drop_single=True)) == [4, 4]
    assert sizes(make_loader(data, 4)) == [4, 4, 1]
    assert sizes(make_loader(data, 5, drop_single=True)) == [5, 4]
    assert sizes(make_loader(data, 1, drop_single=True)) == [1] * 9
    sampler = EpochSampler(np.zeros(9, dtype=int), rank=1, world=2)  # 5 items on this rank
    assert sizes(make_loader(data, 2, sampler=sampler, drop_single=True)) == [2, 2]
