"""Image folders too large for memory: read through tf.data, a batch at a time, never as one array.

`ImageFiles` stands where an array of images would (it has a length, a `shape` and index-array subsets, so
the sample selection of core.data.pools works on it unchanged), but holds only file paths; its
`dataset` is a `tf.data` pipeline (read, decode, resize, scale to [0, 1], batch, prefetch) that training
and scoring consume. Headers are read first, as for in-memory images (core.data.images): an image too large
to decode is refused before any pixel is inflated. The decoded size of the whole folder is not limited,
since it never sits in memory.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.data.images import _GRAY_MODES, folder_labels, is_image_name, open_image
from core.data.limits import check_size
from core.data.types import IMAGE, Dataset
from core.errors import DataError

MIN_SAMPLES = 10


class ImageFiles:
    """Images stored as files, decoded only when streamed: `paths` (n,) str, `sample_shape` (h, w, c).

    Indexing with a slice or an integer array gives another ImageFiles (a subset of the paths); `load()`
    decodes into a float32 array (for the few samples a gallery shows), `dataset()` streams batches.
    """

    def __init__(self, paths: Sequence[str] | np.ndarray, sample_shape: tuple, source: str = ""):
        self.paths = np.asarray(paths, dtype=str)
        self.sample_shape = tuple(int(d) for d in sample_shape)
        self.source = source

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple:
        return (len(self.paths), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def __getitem__(self, index) -> ImageFiles:
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1)
        return ImageFiles(self.paths[index], self.sample_shape, self.source)

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} images of shape {self.sample_shape} from {self.source})"

    def dataset(self, batch_size: int, shuffle_seed: int | None = None, pairs: bool = False):
        """A tf.data.Dataset of float32 batches (b, h, w, c) in [0, 1] (of (x, x) pairs with `pairs`, for fit).

        shuffle_seed: shuffle the file order with this seed, anew on every pass (an epoch). Decoding runs in
        parallel (AUTOTUNE), in order, and the next batches are prefetched while one is used.
        """
        import tensorflow as tf

        height, width, channels = self.sample_shape

        def decode(path):
            image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
            same = tf.logical_and(tf.shape(image)[0] == height, tf.shape(image)[1] == width)
            image = tf.cond(
                same,
                lambda: tf.cast(image, tf.float32),
                lambda: tf.image.resize(tf.cast(image, tf.float32), (height, width), method="bilinear"),
            )
            image = tf.ensure_shape(image, (height, width, channels))
            return image / 255.0

        paths = tf.data.Dataset.from_tensor_slices(self.paths)
        if shuffle_seed is not None:
            paths = paths.shuffle(len(self.paths), seed=shuffle_seed, reshuffle_each_iteration=True)
        images = paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if pairs:
            images = images.map(lambda x: (x, x))
        options = tf.data.Options()
        # Every worker of a cluster lists the same files: split the batches' samples between them.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return images.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Decoded float32 batches in file order."""
        for batch in self.dataset(batch_size):
            yield batch.numpy()

    def load(self) -> np.ndarray:
        """All these images as one float32 array (n, h, w, c): for a few samples, never for a whole folder."""
        parts = list(self.batches(256))
        return np.concatenate(parts) if parts else np.empty(self.shape, np.float32)


def is_streamable_folder(path: str | os.PathLike) -> bool:
    """A folder (not a built-in name, .npz, .csv or .zip): what `stream_image_folder` reads."""
    try:
        return Path(path).expanduser().is_dir()
    except OSError:
        return False


def image_paths(path: Path) -> list[Path]:
    """The PNG/JPEG files under `path`, in name order (hidden files and macOS metadata left out)."""
    return sorted(p for p in path.rglob("*") if p.is_file() and is_image_name(p.relative_to(path).as_posix()))


def read_headers(files: Sequence[Path], source: Path) -> tuple[tuple[int, int], int]:
    """((width, height) most common, channels 1 or 3) of the images, from their headers only.

    Refuses, before any pixel is decoded, an image too large to decode or a file that is not an image.
    """
    sizes, colour = Counter(), True
    largest = (0, 0)
    for file in files:
        with open(file, "rb") as stream:
            image = open_image(str(file), stream, source)
            sizes[image.size] += 1
            colour = colour and image.mode not in _GRAY_MODES
            if image.size[0] * image.size[1] > largest[0] * largest[1]:
                largest = image.size
    check_size(largest[0] * largest[1] * 4, source, f"holds an image of {largest[0]}×{largest[1]} pixels, which")
    return sizes.most_common(1)[0][0], 3 if colour else 1


def stream_image_folder(path: str | os.PathLike, min_samples: int = MIN_SAMPLES) -> Dataset:
    """A folder of images (optionally one sub-folder per class) as a Dataset whose `x_train` is ImageFiles.

    Images are decoded to the most common size, grey unless every image is colour, as in-memory folders are.
    """
    path = Path(path).expanduser().resolve()
    files = image_paths(path)
    if not files:
        raise DataError(f"{path} holds no PNG or JPEG images")
    if len(files) < min_samples:
        raise DataError(f"{path} has only {len(files)} images; at least {min_samples} are needed")
    labels = folder_labels(path, [f.relative_to(path).as_posix() for f in files])
    (width, height), channels = read_headers(files, path)
    x = ImageFiles([str(f) for f in files], (height, width, channels), str(path))
    dataset = Dataset(str(path), IMAGE, x, labels)
    if labels is not None:
        dataset.class_names = {label: str(label) for label in dataset.all_labels().tolist()}
    return dataset
