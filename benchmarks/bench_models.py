"""Training and inference throughput of every registered model at 128x128 (CPU, or CUDA when present).

    python benchmarks/bench_models.py [--models rau-net-small segformer-b0] [--bands 23] [--json out.json]

Without ``--models`` every model of ``landslide segment models`` is timed, with its default
options. Figures depend on the machine and its load: take them on a quiet one.

Targets (CPU, 2 cores, 23 bands): rau-net-small training >= 25 patches/s at batch 16,
inference >= 80 patches/s at batch 32. A plain ~2 M U-Net (widths 16..256) is timed in the
same process as the reference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from landslide_fusion.segmentation import count_parameters, create_loss, create_model, list_models

from common import median_seconds


def throughput(model: torch.nn.Module, bands: int, size: int, device: str, repeat: int) -> tuple[float, float]:
    """(training, inference) patches/s: median of ``repeat`` timed steps after one warm-up step."""
    fmt = torch.channels_last
    model = model.to(device).to(memory_format=fmt)
    loss_fn = create_loss("focal+iou")
    opt = torch.optim.AdamW(model.parameters())
    x = torch.randn(16, bands, size, size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (16, size, size), device=device)

    def train_step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    model.train()
    train_step()
    train = 16 / median_seconds(train_step, repeat)
    model.eval()
    xb = torch.randn(32, bands, size, size, device=device).contiguous(memory_format=fmt)

    def infer_step() -> None:
        model(xb)
        if device == "cuda":
            torch.cuda.synchronize()

    with torch.inference_mode():
        infer_step()
        infer = 32 / median_seconds(infer_step, repeat)
    return train, infer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list_models(), help="registered names (default: all)")
    ap.add_argument("--bands", type=int, default=23)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=7, help="timed steps of each kind; the median is reported")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    rows = []
    ref = create_model("unet", a.bands, widths=(16, 32, 64, 128, 256), dropout=0.0)
    rt, ri = throughput(ref, a.bands, a.size, a.device, a.repeat)
    print(f"reference plain U-Net {count_parameters(ref) / 1e6:.2f} M: train {rt:.1f}/s, infer {ri:.1f}/s")
    for name in a.models:
        m = create_model(name, a.bands)
        t, i = throughput(m, a.bands, a.size, a.device, a.repeat)
        print(
            f"{name:<16}{count_parameters(m) / 1e6:>6.2f} M: train {t:.1f}/s ({t / rt:.2f}x ref), "
            f"infer {i:.1f}/s ({i / ri:.2f}x ref)",
            flush=True,
        )
        rows.append(
            {
                "model": name,
                "parameters": count_parameters(m),
                "train_patches_per_s": t,
                "infer_patches_per_s": i,
                "device": a.device,
                "bands": a.bands,
                "size": a.size,
            }
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
