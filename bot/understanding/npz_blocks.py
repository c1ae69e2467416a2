"""Arrays of a `.npz` file read a block of rows at a time.

At a fresh machine's first start the bot makes uncompressed copies of two packaged models (the
language detector's, the sentence encoder's word-piece table) in its cache folder. Loading a
model whole to copy it held tens of megabytes at once, beside the rest of the start: the start's
peak of memory. Read a block at a time, only one block is ever in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import numpy as np


def member_header(stream) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and type of the `.npy` array `stream` is at the start of (C order only)."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"array format {version}")
    if fortran or dtype.hasobject:
        raise ValueError(f"array laid out as {dtype}, fortran order {fortran}")
    return shape, dtype


def read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """A small array of the archive, whole."""
    with archive.open(f"{name}.npy") as stream:
        shape, dtype = member_header(stream)
        data = stream.read(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def blocks(archive: zipfile.ZipFile, name: str, rows: int) -> Iterator:
    """First the shape of the archive's array `name`, then its rows, `rows` at a time."""
    with archive.open(f"{name}.npy") as stream:
        shape, dtype = member_header(stream)
        yield shape
        width = int(np.prod(shape[1:], dtype=np.int64))
        left = shape[0] if shape else 1
        while left:
            count = min(left, rows)
            data = stream.read(count * width * dtype.itemsize)
            if len(data) != count * width * dtype.itemsize:
                raise EOFError(f"{name}: cut short")
            yield np.frombuffer(data, dtype=dtype).reshape((count, *shape[1:]))
            left -= count


def write_header(out, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """The header `np.save` writes for such an array: the rows written after it make the file."""
    np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(dtype),
                                               "fortran_order": False, "shape": shape})
