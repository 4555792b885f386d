"""Readers (a registry of dataset layouts) and writers: Landslide4Sense HDF5, image folders, rasters, tables; atomic writes."""

from .atomic import atomic_path, output_dir, output_file, write_json, write_text
from .folder import ImageFolderDataset, is_image_folder, write_image_folder_sample
from .l4s import L4SDataset, is_l4s_folder, write_l4s_patch
from .open import open_dataset
from .raster import read_raster, write_geotiff
from .readers import READERS, Dataset, Reader, detect_reader, get_reader, register_reader
from .sample import GeoInfo, Sample
from .tables import read_table, require_columns, write_table
from .validate import NanPolicy

__all__ = [
    "atomic_path",
    "output_dir",
    "output_file",
    "write_json",
    "write_text",
    "ImageFolderDataset",
    "is_image_folder",
    "write_image_folder_sample",
    "L4SDataset",
    "is_l4s_folder",
    "write_l4s_patch",
    "open_dataset",
    "READERS",
    "Dataset",
    "Reader",
    "detect_reader",
    "get_reader",
    "register_reader",
    "read_raster",
    "write_geotiff",
    "GeoInfo",
    "Sample",
    "read_table",
    "require_columns",
    "write_table",
    "NanPolicy",
]
