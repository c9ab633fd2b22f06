"""Your own samples (core.own_samples): images of any size or colour converted to the model's samples, rows of
numbers checked, series nudged, and the CLI `score` converting an image file exactly as the page does."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.data.files import rows_to_samples
from core.errors import DataError
from core.own_samples import image_to_sample, nudge_series

REPO = Path(__file__).resolve().parents[1]


def encoded(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format)
    return buffer.getvalue()


def ink_on_paper(size=(640, 480)) -> Image.Image:
    """A black stroke from top to bottom on off-white paper, in colour, an eighth of the width wide."""
    image = Image.new("RGB", size, (250, 248, 240))
    ImageDraw.Draw(image).rectangle([(size[0] * 7 // 16, 0), (size[0] * 9 // 16, size[1])], "black")
    return image


def test_a_large_colour_jpeg_becomes_a_grey_sample_in_unit_range():
    converted = image_to_sample(encoded(ink_on_paper(), "JPEG"), (8, 8, 1), name="photo.jpg")
    sample = converted.sample
    assert sample.shape == (8, 8, 1) and sample.dtype == np.float32 and 0 <= sample.min() < sample.max() <= 1
    assert not converted.inverted, "without the training images' background nothing is inverted"
    assert converted.description.startswith("RGB 640×480 → grey 8×8 in [0, 1]")
    assert "Lanczos" in converted.description and "padded" in converted.description
    # Padded to a square with the paper's colour, not stretched: the top and bottom rows are paper only.
    grey = sample[..., 0]
    assert grey[[0, 7]].min() > 0.9 and grey[2:6, 3:5].max() < 0.6 and grey[:, [0, 7]].min() > 0.9
    rgb = image_to_sample(encoded(ink_on_paper()), (4, 6, 3), name="photo.png").sample
    assert rgb.shape == (4, 6, 3)


def test_a_light_background_is_inverted_only_for_a_model_trained_on_dark_ones():
    image = encoded(ink_on_paper((200, 200)))
    dark_model = image_to_sample(image, (8, 8, 1), background=0.02, name="ink.png")
    light_model = image_to_sample(image, (8, 8, 1), background=0.95, name="ink.png")
    assert dark_model.inverted and not light_model.inverted
    assert "inverted, as its background is light" in dark_model.description
    np.testing.assert_allclose(dark_model.sample, 1 - light_model.sample, atol=1e-6)
    assert dark_model.sample[0, 0, 0] < 0.1 and dark_model.sample[:, 3:5].max() > 0.5  # light stroke on dark


def test_a_drawing_on_a_transparent_canvas_is_laid_on_its_matte():
    drawing = np.zeros((280, 280, 4), np.uint8)
    drawing[40:240, 120:160] = 255  # a white opaque stroke; the rest fully transparent
    converted = image_to_sample(drawing, (8, 8, 1), background=0.0, name="your drawing", matte=0)
    assert not converted.inverted and "transparent parts laid on black" in converted.description
    assert converted.sample[0, 0, 0] == 0 and converted.sample[4, 3:5, 0].min() > 0.6


def test_a_16_bit_scan_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    converted = image_to_sample(encoded(Image.fromarray(ramp)), (8, 8, 1), name="scan.png")
    assert converted.description.startswith("I;16 64×64 → grey 8×8") and "16-bit values scaled" in converted.description
    assert converted.sample[0, 0, 0] < 0.1 and converted.sample[-1, -1, 0] > 0.9
    np.testing.assert_allclose(converted.sample[:, :, 0].mean(axis=1), np.linspace(0.06, 0.94, 8), atol=0.03)


def test_a_file_that_is_not_an_image_is_named():
    with pytest.raises(DataError, match=r"^notes\.png is not a readable image"):
        image_to_sample(b"\x89PNG\r\n\x1a\n then nothing", (8, 8, 1), name="notes.png")
    with pytest.raises(DataError, match=r"^cut\.jpg is not a readable image"):
        image_to_sample(encoded(ink_on_paper(), "JPEG")[:400], (8, 8, 1), name="cut.jpg")


def test_rows_of_the_wrong_length_or_with_gaps_are_named():
    assert rows_to_samples(b"a,b,c,label\n1,2,3,x\n4,5,6,y\n", (3,), "ok.csv").tolist() == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(DataError, match=r"^beats\.csv has rows of 4 values; the model takes samples of 3 values"):
        rows_to_samples(b"1,2,3,4\n5,6,7,8\n", (3,), "beats.csv")
    with pytest.raises(DataError, match=r"^gaps\.csv holds 1 NaN"):
        rows_to_samples(b"1,2,3\n4,,6\n", (3,), "gaps.csv")


def test_a_nudged_series_changes_only_as_asked():
    series = np.sin(np.linspace(0, 6, 50)).astype(np.float32)
    np.testing.assert_array_equal(nudge_series(series), series)
    spiked = nudge_series(series, spike_at=10, spike_height=2.0)
    assert spiked[10] == pytest.approx(series[10] + 2) and np.array_equal(np.delete(spiked, 10), np.delete(series, 10))
    scaled = nudge_series(series, segment=(5, 15), scale=0.0)
    np.testing.assert_allclose(scaled[5:15], series.mean(), rtol=1e-6)
    noisy = nudge_series(series, noise=0.1, seed=3)
    np.testing.assert_array_equal(noisy, nudge_series(series, noise=0.1, seed=3))
    assert 0.05 < np.std(noisy - series) < 0.2


@pytest.mark.slow  # a digits training, then the CLI: about 20 s
def test_the_cli_scores_a_colour_png_of_another_size_as_the_page_does(tmp_path):
    import dataclasses

    from core.config import ExperimentConfig
    from core.experiment import run_experiment
    from core.own_samples import score_own
    from core.runs import load_detector, save_run

    config = ExperimentConfig.load(REPO / "presets" / "digits_quick.json")
    result = run_experiment(config.replace(train=dataclasses.replace(config.train, epochs=1)))
    run = save_run(result, tmp_path / "run")
    assert result.detector.background_ < 0.1, "scikit-learn's digits are light strokes on black"
    assert load_detector(run).background_ == pytest.approx(result.detector.background_)
    (tmp_path / "photo.png").write_bytes(encoded(ink_on_paper()))
    done = subprocess.run(
        [sys.executable, "-m", "core", "score", "--run", str(run), str(tmp_path / "photo.png")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(text) for text in done.stdout.splitlines()]
    converted = image_to_sample(encoded(ink_on_paper()), result.detector.sample_shape_, result.detector.background_)
    assert converted.inverted
    page = score_own(result.detector, converted.sample[np.newaxis], result.threshold.value)
    assert line["score"] == pytest.approx(float(page.scores[0]), rel=1e-5)
    assert line["flagged"] == bool(page.flagged[0])
    # A zip of images is converted the same way, member by member.
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        archive.writestr("scans/photo.png", encoded(ink_on_paper()))
        archive.writestr("scans/notes.txt", "not an image")
    zipped = subprocess.run(
        [sys.executable, "-m", "core", "score", "--run", str(run), str(tmp_path / "photos.zip")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert zipped.returncode == 0, zipped.stderr
    [zip_line] = [json.loads(text) for text in zipped.stdout.splitlines()]
    assert zip_line["score"] == pytest.approx(line["score"], rel=1e-6)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    broken = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "score",
            "--run",
            str(run),
            str(tmp_path / "photo.png"),
            str(tmp_path / "broken.png"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1
    assert f"{tmp_path / 'broken.png'} is not a readable image" in broken.stderr
