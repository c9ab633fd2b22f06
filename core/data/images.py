"""PNG and JPEG images from a zip or a folder: headers read first, pixels decoded one image at a time.

A first pass reads only each image's header (size, mode), so an image too large to decode, or a set too
large to hold, is refused (core.data.limits) before any pixel is inflated; nothing is extracted to disk.
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
from PIL import Image

from core.data.limits import check_decoded_size, check_size, check_unpacked_size
from core.errors import DataError, reason

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def is_image_name(name: str) -> bool:
    """An image file, not a folder, a hidden file or macOS metadata (__MACOSX/, ._name)."""
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and not any(part.startswith(".") or part == "__MACOSX" for part in parts)
        and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES
    )


def zip_image_members(archive: zipfile.ZipFile, path: Path) -> list[tuple[str, Callable[[], BinaryIO]]]:
    """(name, opener) of the zip's images, in name order; each is read when decoded, nothing goes to disk."""
    check_unpacked_size(archive, path)
    infos = [
        info for info in archive.infolist() if not info.is_dir() and is_image_name(info.filename.replace("\\", "/"))
    ]
    return [
        (info.filename.replace("\\", "/"), functools.partial(archive.open, info))
        for info in sorted(infos, key=lambda i: i.filename)
    ]


def image_arrays(
    path: Path, members: list[tuple[str, Callable[[], BinaryIO]]], image_shape: tuple | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images (n, h, w, c) named by their path inside the zip or folder, and their classes: the first
    sub-folder when every image has one (else None)."""
    if not members:
        raise DataError(f"{path} holds no PNG or JPEG images")
    return decode_images(members, path, image_shape), folder_labels(path, [name for name, _ in members])


def folder_labels(path: Path, names: list[str]) -> np.ndarray | None:
    """The class of each image named by its path inside the zip or folder: its first sub-folder when every
    image has one (a single wrapping folder names no class), else None."""
    folders = [PurePosixPath(name).parts[:-1] for name in names]
    common = len(os.path.commonprefix(folders))
    if all(len(f) > common for f in folders):
        return np.array([f[common] for f in folders])
    if any(len(f) > common for f in folders):
        raise DataError(
            f"{path} mixes images in class sub-folders with images outside them; "
            "put every image in a class folder, or none"
        )
    return None


def decode_images(
    members: list[tuple[str, Callable[[], BinaryIO]]], source: Path, image_shape: tuple | None
) -> np.ndarray:
    """uint8 (n, h, w, c): grayscale unless every image is colour, all resized to the most common size.

    `image_shape` (h, w, c) imposes the size and channel count instead. A first pass reads only the image
    headers, so an image too large to decode (a decompression bomb) is refused before any pixel is inflated.
    """
    sizes, colour = [], []
    for name, opener in members:
        with opener() as stream:
            image = open_image(name, stream, source)
            sizes.append(image.size)
            colour.append(image.mode not in _GRAY_MODES)
    largest = max(sizes, key=lambda size: size[0] * size[1])
    check_size(largest[0] * largest[1] * 4, source, f"holds an image of {largest[0]}×{largest[1]} pixels, which")
    if image_shape is None:
        width, height = Counter(sizes).most_common(1)[0][0]
        channels = 3 if all(colour) else 1
    else:
        height, width, channels = image_shape
    check_decoded_size(len(members) * height * width * channels, 1, source)
    out = np.empty((len(members), height, width, channels), dtype=np.uint8)
    for i, (name, opener) in enumerate(members):
        with opener() as stream:
            image = open_image(name, stream, source)
            try:
                image = image.convert("RGB" if channels == 3 else "L")
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                raise DataError(f"{name} in {source} is not a readable image ({reason(exc)})") from None
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        out[i] = np.asarray(image).reshape(height, width, channels)
    return out


def open_image(name: str, stream: BinaryIO, source: Path) -> Image.Image:
    """The image's header (its pixels are decoded later, on convert)."""
    try:
        return Image.open(stream)
    except Image.UnidentifiedImageError:
        raise DataError(f"{name} in {source} is not a readable image (not a PNG or JPEG file)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name} in {source} is not a readable image ({reason(exc)})") from None


def fit_images(x: np.ndarray, image_shape: tuple) -> np.ndarray:
    """float32 images (n, h, w, c) resized to (H, W) and converted to C channels, for image_shape (H, W, C)."""
    height, width, channels = image_shape
    if x.shape[-1] != channels:
        x = (
            np.repeat(x, 3, axis=-1)
            if channels == 3
            else (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., np.newaxis]
        )
    if x.shape[1:3] != (height, width):
        x = np.stack(
            [
                np.stack(
                    [
                        np.asarray(Image.fromarray(sample[:, :, c]).resize((width, height), Image.Resampling.BILINEAR))
                        for c in range(channels)
                    ],
                    axis=-1,
                )
                for sample in x
            ]
        )
    return x


BACKGROUND_SAMPLES = 256  # images whose borders tell a training set's background (a streamed folder decodes these)


def border_pixels(image: np.ndarray) -> np.ndarray:
    """The pixels of the outermost rows and columns of an image (h, w) or (h, w, c): (k,) or (k, c)."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def border_brightness(image: np.ndarray) -> float:
    """The median brightness of an image's border pixels (the mean of the channels), in the image's units."""
    border = border_pixels(image)
    return float(np.median(border.mean(axis=-1) if border.ndim == 2 else border))


def image_background(images) -> float:
    """The median brightness, in [0, 1], of the border pixels of images (n, h, w, c) in [0, 1]: below 0.5 the
    images are light drawn on dark (MNIST), above it dark on light. Reads at most BACKGROUND_SAMPLES images;
    `images` may be core.data.stream.ImageFiles (those few are then decoded)."""
    first = images[:BACKGROUND_SAMPLES]
    first = first.load() if hasattr(first, "load") else np.asarray(first, dtype=np.float32)
    return float(np.median([border_brightness(image) for image in first]))
