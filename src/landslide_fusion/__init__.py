"""landslide-fusion: landslide detection by fusing image segmentation and tabular models.

Subpackages: :mod:`landslide_fusion.segmentation` (RAU-Net family, band engineering, training),
:mod:`landslide_fusion.tabular` (LightGBM with SHAP and honest cross-validation) and
:mod:`landslide_fusion.fusion` (region statistics, stacking, cross-check, risk).
"""

from .bands import BAND_SETS, BandSet, Role, get_band_set, register_band_set
from .errors import BandError, ConfigError, DataError, LandslideError, NotFittedError, SchemaError
from .io import ImageFolderDataset, L4SDataset, Sample, open_dataset, register_reader

__version__ = "0.1.0"

__all__ = [
    "BAND_SETS",
    "BandSet",
    "Role",
    "get_band_set",
    "register_band_set",
    "BandError",
    "ConfigError",
    "DataError",
    "LandslideError",
    "NotFittedError",
    "SchemaError",
    "ImageFolderDataset",
    "L4SDataset",
    "Sample",
    "open_dataset",
    "register_reader",
    "__version__",
]
