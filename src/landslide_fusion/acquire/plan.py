"""Per-item plans: what will be read from each item found, and how its values are scaled and
masked (third stage of :mod:`.fetch`).

From the items found (:class:`.search.Found`):

1. **Convention**, once, over all items (:func:`.catalogs.choose_convention`); items without an
   asset the composite needs (a band or SCL) are set aside with one
   :class:`SkippedItemsWarning` naming them, and the request is refused only when none is left.
   DEM items need their height asset.
2. **Days**: the ``max_scenes`` least cloudy days (mean ``eo:cloud_cover`` of a day's tiles),
   every usable tile of a chosen day included (a box on a tile border needs both tiles).
3. **Scaling** per item from its own metadata (:func:`.sentinel2.decide_scaling`); a request
   whose items contradict their metadata is refused, naming them.
4. **Masks**: DN 0 and SCL 0 are nodata for every item (:data:`.sentinel2.NODATA_DN`), SCL classes
   :data:`.sentinel2.MASKED_SCL` are clouds and shadows.

:func:`check_scaling` then compares each plan with the item's pixels (statistics that
:func:`.load.offset_statistics` reads on a coarse grid) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import DataError
from .catalogs import Convention, choose_convention, missing_assets, sign_items
from .request import FetchRequest
from .search import Found
from .sentinel2 import MAX_BELOW_OFFSET, Scaling, decide_scaling

__all__ = ["SkippedItemsWarning", "ItemPlan", "ScenePlan", "plan_scene", "choose_days", "check_scaling"]


class SkippedItemsWarning(UserWarning):
    """Items found that cannot be used (an asset missing) and were left out of the scene."""


@dataclass(frozen=True)
class ItemPlan:
    """One Sentinel-2 item to read: its acquisition day and scaling."""

    item: Any
    day: str
    scaling: Scaling


@dataclass(frozen=True)
class ScenePlan:
    """Everything :mod:`.load` reads: the convention, the bands (catalog names, e.g. ``B04``),
    the Sentinel-2 items with their scaling, and the DEM items."""

    convention: Convention
    bands: tuple[str, ...]
    items: tuple[ItemPlan, ...]
    dem: tuple
    skipped: Mapping[str, list[str]] = field(default_factory=dict)

    def groups(self) -> dict[tuple[str, Scaling], list]:
        """Items per (day, scaling), in date order: each group is one time slice of the composite."""
        out: dict[tuple[str, Scaling], list] = defaultdict(list)
        for p in self.items:
            out[(p.day, p.scaling)].append(p.item)
        return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1].dn_offset)))

    def asset_in(self, text: str) -> tuple[str, str, str] | None:
        """(item id, asset key, URL) of the asset whose URL (without a signature's query) ``text``
        names, e.g. a GDAL error message; None when it names none."""
        for it in [p.item for p in self.items] + list(self.dem):
            for key, asset in it.assets.items():
                url = asset.href.split("?")[0]
                if url in text:
                    return it.id, key, url
        return None


def choose_days(items: list, max_scenes: int) -> list:
    """The items of the ``max_scenes`` least cloudy days (every tile of those days), in time order."""
    cover: dict[dt.date, list[float]] = {}
    for it in items:
        cover.setdefault(it.datetime.date(), []).append(float(it.properties.get("eo:cloud_cover", 0.0)))
    best = sorted(cover, key=lambda d: (sum(cover[d]) / len(cover[d]), d))[:max_scenes]
    return sorted((it for it in items if it.datetime.date() in best), key=lambda it: (it.datetime, it.id))


def _warn_skipped(kind: str, skipped: Mapping[str, list[str]]) -> None:
    if skipped:
        parts = "; ".join(f"{i} (no {', '.join(m)})" for i, m in skipped.items())
        warnings.warn(
            f"skipped {len(skipped)} {kind} item(s) without the assets the scene needs: {parts}",
            SkippedItemsWarning,
            stacklevel=3,
        )


def plan_scene(req: FetchRequest, found: Found, bands: tuple[str, ...]) -> ScenePlan:
    """The plan for ``bands`` (catalog names) over the items found (see the module docstring)."""
    conv, usable, skipped = choose_convention(
        found.scenes, bands, req.convention, f"{found.collection} items in {req.catalog}"
    )
    dem_missing = {it.id: missing_assets(it, [conv.dem]) for it in found.dem}
    dem = [it for it in found.dem if not dem_missing[it.id]]
    if not dem:
        raise DataError(
            f"no {found.dem_collection} item in {req.catalog} has the height asset {conv.dem!r} "
            f"({', '.join(list(dem_missing)[:3])}); pass --dem-collection"
        )
    _warn_skipped(found.collection, skipped)
    _warn_skipped(found.dem_collection, {i: m for i, m in dem_missing.items() if m})
    chosen = choose_days(usable, req.max_scenes)
    if conv.signed and req.catalog == conv.url:
        chosen, dem = sign_items(chosen, conv), sign_items(dem, conv)
    keys = [conv.asset(b) for b in bands]
    plans = tuple(
        ItemPlan(
            it,
            it.datetime.date().isoformat(),
            decide_scaling(it.id, it.properties, {k: it.assets[k].extra_fields for k in keys}, req.boa_offset),
        )
        for it in chosen
    )
    return ScenePlan(conv, bands, plans, tuple(dem), skipped)


def check_scaling(plan: ScenePlan, below: Mapping[str, tuple[float, int]], min_clear: int = 100) -> None:
    """Refuse, naming the items, when an item whose DNs should carry an offset has more than
    :data:`~.sentinel2.MAX_BELOW_OFFSET` of its clear blue-band DNs below it (``below``: item id ->
    (share below, clear pixels counted); items with fewer than ``min_clear`` are not judged)."""
    bad = [
        (p, below[p.item.id][0])
        for p in plan.items
        if p.scaling.dn_offset > 0
        and p.scaling.source != "--boa-offset"
        and p.item.id in below
        and below[p.item.id][1] >= min_clear
        and below[p.item.id][0] > MAX_BELOW_OFFSET
    ]
    if bad:
        parts = "; ".join(
            f"{p.item.id} ({share:.0%} of clear blue DNs below {p.scaling.dn_offset:g}, offset from {p.scaling.source})"
            for p, share in bad
        )
        raise DataError(
            f"the metadata of {len(bad)} item(s) say their DNs carry the BOA offset but their pixels "
            f"do not: {parts}; the catalog's metadata are likely wrong (as in Element84/earth-search#66, "
            "#71): pass --boa-offset 0 to read them as harmonised, or choose other dates"
        )
