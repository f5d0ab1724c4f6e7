"""The factory's input readers: what a SOURCE may be (see listing.py) and one reader per kind.

listing.py     the SOURCE kinds, the order that decides sample keys, iter_source / read_bytes
item.py        SourceItem (one input image: where it is, its byte window, its label)
patterns.py    braces and globs naming many files
nested_tar.py  tars of images and tars of class tars (ILSVRC2012_img_train.tar)
tar_index.py   the tar header walk those two share
webdataset.py  WebDataset shards
parquet.py     rows of image bytes
"""

from pipeline.sources.listing import (
    DEFAULT_MAX_INPUT_BYTES,
    IMAGE_EXTENSIONS,
    SAMPLE_IMAGES,
    SAMPLE_SOURCE,
    SourceItem,
    has_image_extension,
    iter_source,
    list_source,
    read_bytes,
)

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "IMAGE_EXTENSIONS",
    "SAMPLE_IMAGES",
    "SAMPLE_SOURCE",
    "SourceItem",
    "has_image_extension",
    "iter_source",
    "list_source",
    "read_bytes",
]
