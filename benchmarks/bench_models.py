"""Training and inference throughput of the registered models at 128x128.

    python benchmarks/bench_models.py [--models rau-net-small unet] [--bands 23]

Targets (CPU, 2 cores, 23 bands): rau-net-small training >= 25 patches/s at batch 16,
inference >= 80 patches/s at batch 32. A plain ~2 M U-Net (widths 16..256) is timed in the
same process as the reference.
"""

from __future__ import annotations

import argparse
import time

import torch

from landslide_fusion.segmentation import count_parameters, create_loss, create_model


def throughput(model: torch.nn.Module, bands: int, size: int, device: str) -> tuple[float, float]:
    fmt = torch.channels_last
    model = model.to(device).to(memory_format=fmt)
    loss_fn = create_loss("focal+iou")
    opt = torch.optim.AdamW(model.parameters())
    x = torch.randn(16, bands, size, size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (16, size, size), device=device)
    model.train()
    times = []
    for _ in range(4):
        t = time.perf_counter()
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    train = 16 / min(times[1:])
    model.eval()
    xb = torch.randn(32, bands, size, size, device=device).contiguous(memory_format=fmt)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            t = time.perf_counter()
            model(xb)
            times.append(time.perf_counter() - t)
    return train, 32 / min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["rau-net-small"])
    ap.add_argument("--bands", type=int, default=23)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    ref = create_model("unet", a.bands, widths=(16, 32, 64, 128, 256), dropout=0.0)
    rt, ri = throughput(ref, a.bands, a.size, a.device)
    print(f"reference plain U-Net {count_parameters(ref) / 1e6:.2f} M: train {rt:.1f}/s, infer {ri:.1f}/s")
    for name in a.models:
        m = create_model(name, a.bands)
        t, i = throughput(m, a.bands, a.size, a.device)
        print(f"{name:<15}{count_parameters(m) / 1e6:>6.2f} M: train {t:.1f}/s ({t / rt:.2f}x ref), infer {i:.1f}/s ({i / ri:.2f}x ref)")


if __name__ == "__main__":
    main()
