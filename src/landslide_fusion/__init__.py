"""landslide-fusion: landslide detection by fusing image segmentation and tabular models.

Subpackages: :mod:`landslide_fusion.engineering` (derived bands: spectral indices, filters),
:mod:`landslide_fusion.segmentation` (RAU-Net family, training, inference, evaluation),
:mod:`landslide_fusion.tabular` (LightGBM with SHAP and honest cross-validation) and
:mod:`landslide_fusion.fusion` (region statistics, stacking, cross-check, risk).
"""

from .lazy import lazy_exports

__version__ = "0.1.0"

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".bands": ["BAND_SETS", "BandSet", "Role", "get_band_set", "register_band_set"],
        ".errors": ["BandError", "ConfigError", "DataError", "LandslideError", "NotFittedError", "SchemaError"],
        ".io": ["ImageFolderDataset", "L4SDataset", "Sample", "open_dataset", "register_reader"],
    },
)
__all__ += ["__version__"]
