"""Band engineering: raw bands to derived band sets (spectral indices, filters), batched on any device."""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".engineer": ["PRESETS", "BandEngineer", "Preset", "list_presets", "register_preset"],
        ".derived": ["DERIVED_BANDS", "FilterOptions", "derived_band", "register_derived_band"],
    },
)
