"""Your own samples: any image, a drawing, or rows of numbers, turned into what a trained model takes, and scored.

One code path for the Score a sample page and `python -m core score`: `image_to_sample` converts one image (a
file's bytes, an open file, a PIL image, or an RGBA array such as a canvas drawing) to the model's sample shape
and says what it did; `core.data.files.rows_to_samples` reads a CSV of rows, one sample per row; `score_own`
scores samples and rebuilds them.

How an image is converted, in order: transparent parts are laid on a matte (white, as an image viewer shows
them; black for a drawing made on black), the colours become grey or RGB as the model's channels need, the
image is padded with its own background colour to the model's aspect ratio (never stretched), resized with a
Lanczos filter (which averages over the pixels each output pixel covers, so a thin stroke in a large image
survives the shrink), and scaled to [0, 1]. Last, when the model's training images are light drawn on dark
(MNIST) and this image is dark on light (ink on paper), or the other way round, it is inverted: the
backgrounds are compared as the median brightness of the image borders (`core.data.images.image_background`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from core.data.images import border_brightness, border_pixels
from core.data.limits import check_size
from core.errors import DataError, reason

_MODE_NAMES = {"1": "black-and-white", "L": "grey", "LA": "grey with transparency", "P": "palette", "RGB": "RGB"}


@dataclass(frozen=True)
class ConvertedImage:
    """An image as a model sample: `sample` float32 of the model's sample shape (h, w, c) in [0, 1], and
    `description`, one sentence saying what was done (from what size and colours, resized how, inverted or not)."""

    sample: np.ndarray
    description: str
    inverted: bool


@dataclass(frozen=True)
class OwnScores:
    """Scores of n samples, and how the model rebuilds them.

    scores: (n,) reconstruction errors (as the run's scores); flagged: (n,) bool, score above the threshold;
    reconstructions and error_maps: (n, *sample_shape), in the samples' raw units.
    """

    scores: np.ndarray
    flagged: np.ndarray
    reconstructions: np.ndarray
    error_maps: np.ndarray


def image_to_sample(
    image: bytes | BinaryIO | Image.Image | np.ndarray,
    sample_shape: tuple,
    background: float | None = None,
    name: str = "the image",
    matte: int = 255,
) -> ConvertedImage:
    """Convert one image of any size and colour to a sample of `sample_shape` (h, w, c), as the module says.

    background: the training images' border brightness (the detector's `background_`); None never inverts.
    name: the user's name for the image, for messages. matte: the grey level (0–255) transparent parts are laid on.
    Raises DataError naming `name` for a file that is not an image, is damaged, or is too large to decode.
    """
    height, width, channels = (int(size) for size in sample_shape)
    picture = _open(image, name)
    original = f"{_MODE_NAMES.get(picture.mode, picture.mode)} {picture.width}×{picture.height}"
    steps = []
    try:
        if picture.mode in ("I", "F") or picture.mode.startswith("I;16"):
            # Pillow would clip these to 8 bits rather than scale them: scale their range first.
            values = np.asarray(picture, dtype=np.float64)
            deep = picture.mode.startswith("I;16") or values.max() > 255
            top = 65535.0 if deep else 1.0 if picture.mode == "F" and values.max() <= 1 else 255.0
            picture = Image.fromarray(np.clip(values / top * 255, 0, 255).round().astype(np.uint8))
            if deep:
                steps.append("16-bit values scaled to 8 bits")
        if picture.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in picture.info:
            rgba = picture.convert("RGBA")
            if rgba.getextrema()[3][0] < 255:
                steps.append(f"transparent parts laid on {'white' if matte >= 128 else 'black'}")
            picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (matte, matte, matte, 255)), rgba)
        picture = picture.convert("RGB" if channels == 3 else "L")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name} is not a readable image ({reason(exc)})") from None
    pixels = np.asarray(picture)
    image_light = border_brightness(pixels) / 255 > 0.5
    fill = np.median(border_pixels(pixels), axis=0).astype(int)
    padded_width = max(picture.width, round(picture.height * width / height))
    padded_height = max(picture.height, round(picture.width * height / width))
    if (padded_width, padded_height) != picture.size:
        canvas = Image.new(picture.mode, (padded_width, padded_height), tuple(fill) if channels == 3 else int(fill))
        canvas.paste(picture, ((padded_width - picture.width) // 2, (padded_height - picture.height) // 2))
        picture = canvas
        steps.append("padded with its background colour to the model's shape")
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        steps.append("resized with a Lanczos filter")
    sample = np.asarray(picture, dtype=np.float32).reshape(height, width, channels) / 255
    inverted = background is not None and image_light != (background > 0.5)
    if inverted:
        sample = 1 - sample
        steps.append(
            "inverted, as its background is "
            + ("light and the model's training images have a dark one" if image_light else "dark and theirs is light")
        )
    target = f"{'RGB' if channels == 3 else 'grey'} {width}×{height}"
    done = ", ".join(steps) if steps else "no resizing needed"
    return ConvertedImage(sample, f"{original} → {target} in [0, 1]: {done}.", inverted)


def _open(image: bytes | BinaryIO | Image.Image | np.ndarray, name: str) -> Image.Image:
    """The image as PIL opened it (first frame of an animation), its size checked on the header before decoding."""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        return Image.fromarray(np.asarray(image, dtype=np.uint8))
    stream = io.BytesIO(image) if isinstance(image, bytes) else image
    try:
        picture = Image.open(stream)
        check_size(picture.width * picture.height * 4, Path(name), f"is {picture.width}×{picture.height} pixels, which")
        picture.load()
    except Image.UnidentifiedImageError:
        raise DataError(f"{name} is not a readable image (not a PNG, JPEG, GIF, BMP or WebP file)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name} is not a readable image ({reason(exc)})") from None
    return picture


def score_own(detector, samples: np.ndarray, threshold: float) -> OwnScores:
    """Score raw samples (n, *sample_shape) with a fitted detector and rebuild them (see OwnScores)."""
    samples = np.asarray(samples, dtype=np.float32)
    scores = detector.score_samples(samples)
    reconstructions, error_maps = detector.reconstruct(samples)
    return OwnScores(scores, scores > threshold, reconstructions, error_maps)


def nudge_series(
    series: np.ndarray,
    spike_at: int = 0,
    spike_height: float = 0.0,
    segment: tuple[int, int] = (0, 0),
    scale: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A copy of a series (length,) changed as a test of the model: the values in `segment` [start, stop) scaled
    by `scale` around the series' mean, `spike_height` added at `spike_at`, and Gaussian noise of standard
    deviation `noise` (all in the series' raw units; the noise drawn with `seed`)."""
    nudged = np.array(series, dtype=np.float32)
    start, stop = segment
    mean = nudged.mean()
    nudged[start:stop] = mean + (nudged[start:stop] - mean) * scale
    nudged[spike_at] += spike_height
    if noise > 0:
        nudged += np.random.default_rng(seed).normal(0, noise, nudged.shape).astype(np.float32)
    return nudged
