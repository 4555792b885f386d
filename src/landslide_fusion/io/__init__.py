"""Readers (a registry of dataset layouts) and writers: Landslide4Sense HDF5, image folders, rasters,
tables; atomic writes."""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".atomic": ["atomic_path", "output_dir", "output_file", "write_json", "write_text"],
        ".folder": ["ImageFolderDataset", "is_image_folder", "write_image_folder_sample"],
        ".l4s": ["L4SDataset", "write_l4s_patch"],
        ".open": ["open_dataset"],
        ".raster": ["read_raster", "write_geotiff"],
        ".readers": ["READERS", "Dataset", "Reader", "detect_reader", "get_reader", "register_reader"],
        ".sample": ["GeoInfo", "Sample"],
        ".tables": ["read_table", "require_columns", "write_table"],
        ".validate": ["NanPolicy"],
    },
)
