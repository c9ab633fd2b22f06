"""Datasets: the built-in ones on real data, user files in every format, and the experiment data contract."""

import gzip
import io
import os
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.config import DataConfig, InjectConfig
from core.data import (
    BUILTIN_DATASETS,
    build_experiment_data,
    builtin,
    builtin_kind,
    dataset_label,
    load_dataset,
    load_samples,
    name_classes,
    registry,
)
from core.errors import DataError
from core.fields import FIELDS


def data_error(function, *args, **kwargs) -> str:
    """The message of the DataError that function(*args) raises, checked to be one line."""
    with pytest.raises(DataError) as caught:
        function(*args, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes((0, 0, 8, array.ndim)) + np.array(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def random_pixels(rng, shape) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


class LeavesAMark:
    """Unpickling this creates a file: proof that a loader unpickled user data."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


# ------------------------------------------------------------------------------------------ built-in datasets


def test_digits_are_bundled_8x8_images_in_the_unit_range():
    digits = load_dataset("digits")
    assert digits.kind == "image" and digits.sample_shape == (8, 8, 1) and not digits.has_official_split
    assert digits.x_train.shape == (1797, 8, 8, 1) and digits.x_train.dtype == np.float32
    assert digits.x_train.min() == 0 and digits.x_train.max() == 1
    assert digits.y_train.dtype == np.int64 and sorted(set(digits.y_train.tolist())) == list(range(10))


def test_mnist_is_read_from_the_local_folder(shared_data_dir):
    mnist = load_dataset("mnist", shared_data_dir)
    assert mnist.x_train.shape == (60000, 28, 28, 1) and mnist.x_test.shape == (10000, 28, 28, 1)
    assert mnist.x_train.dtype == np.float32 and mnist.x_train.min() == 0 and mnist.x_train.max() == 1
    assert mnist.y_train.dtype == np.int64 and np.count_nonzero(mnist.y_train == 1) == 6742
    assert mnist.has_official_split and mnist.class_names[3] == "3"


def test_fashion_mnist_test_image_0_is_an_ankle_boot(shared_data_dir):
    fashion = load_dataset("fashion_mnist", shared_data_dir)
    assert fashion.x_test.shape == (10000, 28, 28, 1) and len(fashion.y_train) == 60000
    assert fashion.y_test[0] == 9 and fashion.class_names[9] == "Ankle boot"


def test_ecg5000_is_a_labelled_series_of_raw_values(shared_data_dir):
    ecg = load_dataset("ecg5000", shared_data_dir)
    assert ecg.kind == "series" and ecg.x_train.shape == (4998, 140) and ecg.x_test is None
    assert ecg.y_train.dtype == np.int64 and Counter(ecg.y_train.tolist()) == {1: 2919, 0: 2079}
    assert ecg.class_names == {1: "normal", 0: "abnormal"}
    assert ecg.x_train.min() < 0  # raw values, not scaled


def test_parsed_arrays_are_cached_and_read_only(shared_data_dir):
    first, second = load_dataset("ecg5000", shared_data_dir), load_dataset("ecg5000", shared_data_dir)
    assert first.x_train is second.x_train
    with pytest.raises(ValueError):
        first.x_train[0, 0] = 0
    first.class_names[1] = "changed"
    assert load_dataset("ecg5000", shared_data_dir).class_names[1] == "normal"


def test_registry_names_kinds_and_labels_of_the_builtin_datasets():
    assert BUILTIN_DATASETS == ("digits", "mnist", "fashion_mnist", "ecg5000")
    help_text = FIELDS["data.dataset"].help  # the schema names them without importing the registry
    assert all(name in help_text for name in BUILTIN_DATASETS) and "nab/<file stem>" in help_text
    assert [builtin_kind(name) for name in BUILTIN_DATASETS] == ["image", "image", "image", "series"]
    assert builtin_kind("uploads/my.npz") is None
    assert dataset_label("digits") == "Digits (8×8, offline)" and dataset_label("ecg5000") == "ECG5000 heartbeats"
    assert dataset_label("uploads/my_data.npz") == "my_data.npz" and dataset_label("data/images/") == "images"
    assert load_dataset("digits").class_names == registry.BUILTINS["digits"].class_names


def test_data_dir_is_the_argument_else_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMALY_STUDIO_DATA", str(tmp_path / "env"))
    assert registry.resolve_data_dir() == (tmp_path / "env").resolve()
    assert registry.resolve_data_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    monkeypatch.delenv("ANOMALY_STUDIO_DATA")
    assert registry.resolve_data_dir() is None


def test_idx_files_are_parsed_and_validated(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good" / "mnist"
    good.mkdir(parents=True)
    train_images = random_pixels(rng, (12, 28, 28))
    write_idx(good / "train-images-idx3-ubyte.gz", train_images)
    write_idx(good / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    write_idx(good / "t10k-images-idx3-ubyte.gz", random_pixels(rng, (10, 28, 28)))
    write_idx(good / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    mnist = load_dataset("mnist", good.parent)
    np.testing.assert_allclose(mnist.x_train[..., 0], train_images / 255, rtol=1e-6)
    assert mnist.y_test.tolist() == list(range(10))

    for broken, damage in [
        ("magic", lambda raw: b"\x00\x00\x09" + raw[3:]),
        ("truncated", lambda raw: raw[:-100]),
        ("not-gzip", None),
    ]:
        folder = tmp_path / broken / "mnist"
        folder.mkdir(parents=True)
        for path in good.iterdir():
            (folder / path.name).write_bytes(path.read_bytes())
        target = folder / "train-images-idx3-ubyte.gz"
        if damage is None:
            target.write_bytes(b"plain text")
        else:
            with gzip.open(target, "wb") as stream:
                stream.write(damage(gzip.decompress(good.joinpath(target.name).read_bytes())))
        assert "train-images-idx3-ubyte.gz" in data_error(load_dataset, "mnist", folder.parent)


def test_missing_dataset_offline_is_one_line_naming_the_files_and_folder(tmp_path, monkeypatch):
    def no_network(*args):
        raise OSError(
            "URL fetch failure on https://storage.googleapis.com/x: None -- [Errno -2]\nName or service not known"
        )

    monkeypatch.setattr(builtin, "_fetch", no_network)
    empty = tmp_path / "empty"
    message = data_error(load_dataset, "mnist", empty)
    assert message.startswith(f"MNIST (mnist) is not in the data folder {empty} and could not be downloaded")
    assert all(name in message for name in registry.IDX_FILES)
    assert f"{empty.resolve() / 'mnist'}/" in message and "ANOMALY_STUDIO_DATA" in message and "--data-dir" in message
    assert "Name or service not known" in message

    monkeypatch.delenv("ANOMALY_STUDIO_DATA", raising=False)
    message = data_error(load_dataset, "ecg5000")
    assert "ecg.csv" in message and "<data folder>/ecg5000/" in message


# ------------------------------------------------------------------------------------------------ user files


def test_npz_images_with_float_labels(tmp_path):
    rng = np.random.default_rng(1)
    images = random_pixels(rng, (20, 12, 10))
    np.savez(tmp_path / "images.npz", x=images, y=(np.arange(20) % 2).astype(float))
    dataset = load_dataset(tmp_path / "images.npz")
    assert dataset.name == str(tmp_path / "images.npz") and dataset.kind == "image"
    assert dataset.x_train.shape == (20, 12, 10, 1) and dataset.x_train.dtype == np.float32
    np.testing.assert_allclose(dataset.x_train[..., 0], images / 255, rtol=1e-6)
    assert dataset.y_train.dtype == np.int64 and dataset.class_names == {0: "0", 1: "1"}
    assert not dataset.x_train.flags.writeable


def test_npz_with_an_official_split_and_text_labels(tmp_path):
    rng = np.random.default_rng(2)
    np.savez(
        tmp_path / "split.npz",
        x_train=rng.normal(size=(30, 50)),
        y_train=np.array(["ok", "bad"] * 15),
        x_test=rng.normal(size=(12, 50)),
        y_test=np.array(["ok"] * 12),
    )
    dataset = load_dataset(tmp_path / "split.npz")
    assert dataset.kind == "series" and dataset.has_official_split and dataset.x_test.shape == (12, 50)
    assert dataset.y_train.dtype.kind == "U" and dataset.class_names == {"bad": "bad", "ok": "ok"}


def test_npz_with_pickled_objects_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    np.savez(tmp_path / "objects.npz", x=np.array([LeavesAMark(marker)] * 12, dtype=object))
    assert "never unpickled" in data_error(load_dataset, tmp_path / "objects.npz")
    assert not marker.exists()


def test_csv_with_a_header_and_a_label_column(tmp_path):
    rows = "\n".join(f"{i % 5},{i * 0.5},{-i},{'odd' if i % 2 else 'even'}" for i in range(12))
    (tmp_path / "labelled.csv").write_text("a,b,c,label\n" + rows + "\n")
    dataset = load_dataset(tmp_path / "labelled.csv")
    assert dataset.kind == "series" and dataset.x_train.shape == (12, 3)
    assert dataset.x_train[3].tolist() == [3.0, 1.5, -3.0]
    assert dataset.y_train.tolist()[:2] == ["even", "odd"]


def test_csv_with_or_without_a_header_and_no_labels(tmp_path):
    values = np.random.default_rng(3).normal(size=(15, 4)).astype(np.float32)
    np.savetxt(tmp_path / "bare.csv", values, delimiter=",")
    (tmp_path / "named.csv").write_text("w,x,y,z\n" + (tmp_path / "bare.csv").read_text())
    for name in ("bare.csv", "named.csv"):
        dataset = load_dataset(tmp_path / name)
        assert dataset.y_train is None and dataset.class_names == {}
        np.testing.assert_allclose(dataset.x_train, values, rtol=1e-6)


def test_csv_with_missing_values_names_how_many_and_the_rows(tmp_path):
    lines = [",".join(["1"] * 5)] * 12
    lines[3] = "1,,1,1,1"
    lines[7] = "1,nan,1,inf,1"
    (tmp_path / "gaps.csv").write_text("\n".join(lines) + "\n")
    message = data_error(load_dataset, tmp_path / "gaps.csv")
    assert "3 NaN or infinite values in 2 samples" in message and "3, 7" in message


def test_csv_with_a_text_cell_names_it(tmp_path):
    lines = ["1,2,3"] * 12
    lines[5] = "1,two,3"
    (tmp_path / "text.csv").write_text("\n".join(lines) + "\n")
    message = data_error(load_dataset, tmp_path / "text.csv")
    assert "'two'" in message and "row 5" in message


def test_zip_of_pngs_with_class_folders(tmp_path):
    rng = np.random.default_rng(4)
    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as archive:
        for i in range(6):
            archive.writestr(f"pets/cat/{i}.png", png(random_pixels(rng, (16, 16))))
            archive.writestr(f"pets/dog/{i}.png", png(random_pixels(rng, (16, 16, 3))))
        archive.writestr("pets/dog/big.png", png(random_pixels(rng, (32, 20))))  # resized to the common 16×16
        archive.writestr("__MACOSX/pets/cat/._0.png", b"resource fork")
        archive.writestr("pets/notes.txt", "not an image")
    dataset = load_dataset(tmp_path / "pets.zip")
    assert dataset.kind == "image" and dataset.x_train.shape == (13, 16, 16, 1)  # grayscale: not all are colour
    assert Counter(dataset.y_train.tolist()) == {"cat": 6, "dog": 7}
    assert (
        dataset.class_names == {"cat": "cat", "dog": "dog"} and 0 <= dataset.x_train.min() <= dataset.x_train.max() <= 1
    )


def test_folder_of_colour_images_is_rgb_and_unlabelled(tmp_path):
    rng = np.random.default_rng(5)
    for i in range(10):
        (tmp_path / f"{i}.{'png' if i % 2 else 'jpg'}").write_bytes(
            png(random_pixels(rng, (9, 7, 3)), "PNG" if i % 2 else "JPEG")
        )
    dataset = load_dataset(tmp_path)
    assert dataset.x_train.shape == (10, 9, 7, 3) and dataset.y_train is None


def test_folder_class_names_match_integer_config_values(tmp_path):
    rng = np.random.default_rng(6)
    for digit, count in (("3", 20), ("7", 10)):
        (tmp_path / digit).mkdir()
        for i in range(count):
            (tmp_path / digit / f"{i}.png").write_bytes(png(random_pixels(rng, (8, 8))))
    config = DataConfig(
        dataset=str(tmp_path), normal_classes=[3], anomaly_classes=["7"], contamination=0.25, protocol="transductive"
    )
    data = build_experiment_data(config, seed=0)
    assert len(data.x_train) == 25 and data.labels.sum() == 5 and set(data.classes[data.labels == 1]) == {"7"}
    assert "its classes are 3, 7" in data_error(
        build_experiment_data, DataConfig(dataset=str(tmp_path), anomaly_classes=[5]), 0
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"PK\x03\x04 but then garbage", "not a readable zip file"),
        (None, "not a readable image"),
    ],
)
def test_corrupt_zips_and_images(tmp_path, content, message):
    if content is None:
        with zipfile.ZipFile(tmp_path / "data.zip", "w") as archive:
            for i in range(12):
                archive.writestr(f"{i}.png", png(np.zeros((4, 4), np.uint8)) if i != 4 else b"\x89PNG broken")
    else:
        (tmp_path / "data.zip").write_bytes(content)
    assert message in data_error(load_dataset, tmp_path / "data.zip")


def test_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMALY_STUDIO_MAX_FILE_MB", "1")
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.png", bytes(8 * 2**20))
    assert (tmp_path / "bomb.zip").stat().st_size < 2**20
    assert "unpacks to 8.0 MB, over the 1 MB limit" in data_error(load_dataset, tmp_path / "bomb.zip")


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    np.savetxt(tmp_path / "big.csv", np.ones((100, 20)), delimiter=",")
    monkeypatch.setenv("ANOMALY_STUDIO_MAX_FILE_MB", "0.001")
    assert "ANOMALY_STUDIO_MAX_FILE_MB" in data_error(load_dataset, tmp_path / "big.csv")


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros(20)}, "shape (20,)"),
        ({"x": np.zeros((20, 4, 4, 2))}, "1 or 3 channels"),
        ({"x": np.zeros((20, 2, 2, 2, 1))}, "shape (20, 2, 2, 2, 1)"),
        ({"x": np.zeros((5, 3))}, "only 5 samples; at least 10"),
        ({"x": np.zeros((0, 3))}, "empty"),
        ({"x": np.full((12, 4, 4), 300.0)}, "pixel values from 300 to 300"),
        ({"x": np.zeros((12, 3)), "y": np.zeros(11)}, "shape (11,) for 12 samples"),
        ({"x": np.array([["a"] * 3] * 12)}, "only numbers"),
        ({"features": np.zeros((12, 3))}, "needs an array named 'x'"),
    ],
)
def test_bad_npz_arrays_are_explained(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert message in data_error(load_dataset, tmp_path / "bad.npz")


def test_missing_and_unsupported_paths(tmp_path):
    assert "neither a built-in dataset" in data_error(load_dataset, tmp_path / "nothing.npz")
    (tmp_path / "table.xlsx").write_bytes(b"x")
    assert "not a supported file" in data_error(load_dataset, tmp_path / "table.xlsx")


def test_load_samples_fits_images_to_the_model(tmp_path):
    rng = np.random.default_rng(7)
    np.savez(tmp_path / "colour.npz", x=random_pixels(rng, (3, 16, 16, 3)))
    x = load_samples(tmp_path / "colour.npz", (8, 8, 1), "image")
    assert x.shape == (3, 8, 8, 1) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    with zipfile.ZipFile(tmp_path / "gray.zip", "w") as archive:
        for i in range(2):
            archive.writestr(f"{i}.png", png(random_pixels(rng, (20, 12))))
    assert load_samples(tmp_path / "gray.zip", (8, 8, 3), "image").shape == (2, 8, 8, 3)


def test_load_samples_needs_the_model_series_length(tmp_path):
    np.savetxt(tmp_path / "short.csv", np.ones((3, 120)), delimiter=",")
    assert data_error(load_samples, tmp_path / "short.csv", (140,), "series") == (
        f"{tmp_path / 'short.csv'} has rows of 120 values; the model takes samples of 140 values, one sample per row"
    )
    (tmp_path / "labelled.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    assert load_samples(tmp_path / "labelled.csv", (2,), "series").tolist() == [[1, 2], [3, 4]]


# -------------------------------------------------------------------------------------- experiment data


def test_transductive_ones_with_one_percent_of_threes(shared_data_dir):
    config = DataConfig(
        dataset="mnist",
        normal_classes=[1],
        anomaly_classes=[3],
        contamination=0.01,
        protocol="transductive",
        split="train",
    )
    data = build_experiment_data(config, seed=0, data_dir=shared_data_dir)
    assert data.x_score is data.x_train and data.x_train.shape == (6809, 28, 28, 1)
    assert data.labels.dtype == np.int8 and data.labels.sum() == 67
    assert set(data.classes[data.labels == 1].tolist()) == {3} and set(data.classes[data.labels == 0].tolist()) == {1}
    assert data.counts() == [
        {"role": "normal", "train": 6742, "scored": 6742},
        {"role": "anomaly", "train": 67, "scored": 67},
    ]
    assert data.labels[-67:].sum() < 67  # shuffled, not anomalies last
    mnist = load_dataset("mnist", shared_data_dir)
    np.testing.assert_array_equal(data.x_score, mnist.x_train[data.indices])
    assert not np.shares_memory(data.x_train, mnist.x_train)


def test_inductive_mnist_with_one_injected_ankle_boot(shared_data_dir):
    config = DataConfig(dataset="mnist", inject=InjectConfig(dataset="fashion_mnist", classes=[9], count=1))
    data = build_experiment_data(config, seed=0, data_dir=shared_data_dir)
    assert data.x_train.shape == (60000, 28, 28, 1) and data.x_score.shape == (10001, 28, 28, 1)
    assert data.labels.sum() == 1 and np.count_nonzero(data.roles == 2) == 1 and (data.train_roles == 0).all()
    [injected] = np.flatnonzero(data.roles == 2)
    fashion = load_dataset("fashion_mnist", shared_data_dir)
    assert data.labels[injected] == 1 and fashion.y_test[data.indices[injected]] == 9
    np.testing.assert_array_equal(data.x_score[injected], fashion.x_test[data.indices[injected]])
    assert data.indices[:10000].tolist() == list(range(10000))  # the test split in its order, then the injection
    names = name_classes(data, config.inject, np.array([0, injected]))
    assert names.tolist() == [str(data.classes[0]), "Ankle boot (Fashion-MNIST)"]


def test_ecg_inductive_trains_on_normals_of_the_training_part_as_raw_values(shared_data_dir):
    data = build_experiment_data(DataConfig(dataset="ecg5000", anomaly_classes=[0]), seed=0, data_dir=shared_data_dir)
    ecg = load_dataset("ecg5000", shared_data_dir)
    assert data.kind == "series" and data.sample_shape == (140,) and len(data.x_score) == 1000
    assert (data.train_roles == 0).all() and np.array_equal(
        data.labels, (ecg.y_train[data.indices] == 0).astype(np.int8)
    )
    assert abs(data.labels.mean() - 2079 / 4998) < 0.001  # the hold-out is stratified
    trained_rows = np.setdiff1d(np.flatnonzero(ecg.y_train == 1), data.indices)
    assert len(data.x_train) == len(trained_rows)
    # Raw values, not scaled: the detector fits its scaler on x_train itself.
    np.testing.assert_array_equal(np.sort(data.x_train, axis=0), np.sort(ecg.x_train[trained_rows], axis=0))
    np.testing.assert_array_equal(data.x_score, ecg.x_train[data.indices])


def test_same_seed_same_arrays_other_seed_other_draw():
    for protocol in ("transductive", "inductive"):
        config = DataConfig(dataset="digits", anomaly_classes=[7], contamination=0.05, protocol=protocol)
        first, again, other = (build_experiment_data(config, seed) for seed in (1, 1, 2))
        for name in ("x_train", "x_score", "labels", "classes", "roles", "indices", "train_roles"):
            assert getattr(first, name).tobytes() == getattr(again, name).tobytes()
        assert not np.array_equal(first.indices, other.indices)


def test_limit_caps_each_pool_stratified(shared_data_dir):
    mnist = load_dataset("mnist", shared_data_dir)
    data = build_experiment_data(DataConfig(dataset="mnist", limit=1000), seed=3, data_dir=shared_data_dir)
    assert len(data.x_train) == 1000 and len(data.x_score) == 1000
    expected = np.bincount(mnist.y_test) * 1000 / len(mnist.y_test)
    assert np.all(np.abs(np.bincount(data.classes) - expected) < 1)
    digits = build_experiment_data(
        DataConfig(
            dataset="digits",
            normal_classes=[0],
            anomaly_classes=[1],
            contamination=0.1,
            limit=500,
            protocol="transductive",
        ),
        seed=0,
    )
    assert digits.counts() == [
        {"role": "normal", "train": 50, "scored": 50},
        {"role": "anomaly", "train": 5, "scored": 5},
    ]


def test_unlabelled_data_has_unknown_roles_and_refuses_classes(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.random.default_rng(8).normal(size=(50, 6)))
    data = build_experiment_data(DataConfig(dataset=str(tmp_path / "plain.npz"), test_fraction=0.2), seed=0)
    assert data.labels is None and data.classes is None and (data.roles == -1).all()
    assert data.counts() == [{"role": "unlabeled", "train": 40, "scored": 10}]
    config = DataConfig(dataset=str(tmp_path / "plain.npz"), normal_classes=[0])
    assert "unlabeled" in data_error(build_experiment_data, config, 0)


@pytest.mark.parametrize(
    "config, message",
    [
        (DataConfig(dataset="digits", anomaly_classes=[42]), "42, which digits does not have; its classes are 0, 1, 2"),
        (
            DataConfig(dataset="digits", anomaly_classes=[1], contamination=0.5, protocol="transductive"),
            "asks for 808 anomalies",
        ),
        (DataConfig(dataset="digits", contamination=0.1), "(data.anomaly_classes), which is null"),
        (DataConfig(dataset="digits", inject=InjectConfig(dataset="ecg5000")), "shape (140,)"),
    ],
)
def test_configs_that_do_not_fit_the_data(config, message, shared_data_dir):
    assert message in data_error(build_experiment_data, config, 0, shared_data_dir)


def test_an_image_bomb_in_a_small_zip_is_refused_from_its_header(tmp_path, monkeypatch):
    """A tiny PNG that declares 9000×9000 pixels is refused before a pixel is inflated."""
    monkeypatch.setenv("ANOMALY_STUDIO_MAX_FILE_MB", "64")
    buffer = io.BytesIO()
    Image.new("L", (9_000, 9_000)).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < 2**20
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w") as archive:
        for i in range(12):
            archive.writestr(f"{i}.png", png(np.zeros((4, 4), np.uint8)))
        archive.writestr("big.png", buffer.getvalue())
    message = data_error(load_dataset, tmp_path / "bomb.zip")
    assert "9000×9000 pixels" in message and "bomb.zip" in message and "BytesIO" not in message


def test_an_oversized_npz_array_is_refused_from_its_header(tmp_path, monkeypatch):
    """The .npy header's shape and dtype are read first: 80 MB of float64 zeros compress to almost nothing."""
    monkeypatch.setenv("ANOMALY_STUDIO_MAX_FILE_MB", "100")
    np.savez_compressed(tmp_path / "big.npz", x=np.zeros((10_000, 1_000)))
    assert (tmp_path / "big.npz").stat().st_size < 2**20
    message = data_error(load_dataset, tmp_path / "big.npz")
    assert "would take" in message and "big.npz" in message


def test_the_default_limit_follows_the_machines_memory(monkeypatch):
    from core.data import limits

    monkeypatch.delenv("ANOMALY_STUDIO_MAX_FILE_MB", raising=False)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limits.max_file_bytes() == physical // limits.MEMORY_SHARE
