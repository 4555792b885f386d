"""DistributedDataParallel (DDP) when training is started by ``torchrun``: the process group, the
wrapped model and what rank 0 shares with the other ranks. With one process (``WORLD_SIZE``
unset) each is a no-op, so the training loop reads the same either way.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["rank_and_world", "wrap", "shared_path", "wait_for_all"]


def rank_and_world() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def wrap(model: nn.Module, rank: int, world: int, device: str) -> nn.Module:
    """``model`` DDP-wrapped when distributed, else ``model`` itself."""
    if world == 1:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[rank] if device == "cuda" else None)


def shared_path(path: Path | None, world: int) -> Path:
    """Rank 0's ``path`` on every rank."""
    if world == 1:
        return path  # type: ignore[return-value]
    box = [str(path) if path is not None else None]
    torch.distributed.broadcast_object_list(box, src=0)
    return Path(box[0])  # type: ignore[arg-type]


def wait_for_all(world: int) -> None:
    """Return once every rank has reached this point."""
    if world > 1:
        torch.distributed.barrier()
