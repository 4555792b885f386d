"""Regions: the landslide mask of a probability map and its statistics per region.

This layer sits below ``segmentation`` and ``fusion`` (both import it; it imports neither): a
segmentation run predicts a region's probabilities, :func:`landslide_mask` turns them into the
mask once, and :func:`mask_statistics` / :func:`region_stats` / :func:`zonal_stats` turn masks
into the per-region features fusion learns from.
"""

from .masks import has_landslide, landslide_mask, morphology, morphology_halo, region_peak, valid_pixels
from .stats import PROBABILITY_COLUMNS, STAT_COLUMNS, mask_statistics, region_stats, stats_frame
from .zonal import zonal_stats

__all__ = [
    "has_landslide",
    "landslide_mask",
    "morphology",
    "morphology_halo",
    "region_peak",
    "valid_pixels",
    "PROBABILITY_COLUMNS",
    "STAT_COLUMNS",
    "mask_statistics",
    "region_stats",
    "stats_frame",
    "zonal_stats",
]
