"""The Score a sample page under Streamlit's AppTest: images uploaded to a digits model, a damaged upload, and a
series model's training sample nudged."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_pages import (  # noqa: F401 (navigation_runs_app_py: an autouse fixture)
    button,
    go,
    navigation_runs_app_py,
    start_app,
    train,
    upload,
    workspace,
)

PAGE = "pages/score_sample.py"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def verdicts(at) -> list[str]:
    return [m.value for m in at.markdown if "· score **" in m.value]


def score_of(line: str) -> float:
    return float(line.split("score **")[1].split("**")[0])


def digits_app():
    at = start_app()
    [card] = [b for b in at.button if b.key == "preset:digits_quick"]
    card.click().run()
    train(at, epochs=2)
    return at


def test_before_training_the_page_points_to_train():
    at = go(start_app(), PAGE)
    assert "Nothing trained yet" in at.info[0].value


def test_uploaded_images_are_converted_scored_and_a_damaged_one_is_named():
    at = go(digits_app(), PAGE)
    assert at.title[0].value == "Score a sample"
    assert at.segmented_control(key="score_sample:how").value == "Draw"
    assert "Draw something" in at.info[0].value, "the canvas waits for a drawing"
    at.segmented_control(key="score_sample:how").set_value("Upload").run()
    ink = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(ink).line([(150, 20), (150, 180)], fill="black", width=24)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    files = [("one.png", png(ink), "image/png"), ("noise.png", png(noise), "image/png")]
    files.append(("broken.png", b"\x89PNG\r\n\x1a\n not really", "image/png"))
    at.file_uploader(key="score_sample:images").set_value(files).run()
    assert not at.exception, at.exception[0].message
    assert len(at.error) == 1 and at.error[0].value.startswith("broken.png is not a readable image")
    one, noisy = verdicts(at)
    threshold = workspace(at).result.threshold.value
    for line in (one, noisy):
        assert ("Not flagged" in line) == (score_of(line) <= threshold)
    assert score_of(noisy) > threshold, "random colour noise must be flagged by a digits model"
    notes = [c.value for c in at.caption]
    assert any(n.startswith("RGB 300×200 → grey 8×8") and "inverted" in n for n in notes), notes
    assert len(at.get("plotly_chart")) == 3  # the histogram and two samples


@pytest.mark.slow  # an ECG5000 training: about 15 s
def test_a_nudged_series_scores_higher_than_the_sample_it_came_from(shared_data_dir):
    at = start_app(data_dir=shared_data_dir)
    [card] = [b for b in at.button if b.key == "preset:ecg5000"] or [None]
    if card is None:
        pytest.skip("no ECG5000 preset")
    card.click().run()
    train(at, epochs=2)
    at = go(at, PAGE)
    assert not at.error
    before = [score_of(line) for line in verdicts(at)]
    assert before[0] == pytest.approx(before[1]), "an untouched sample scores as itself"
    sliders = {s.label: s for s in at.slider}
    sliders["Spike height"].set_value(sliders["Spike height"].max)
    sliders["Segment"].set_value((20, 60))
    sliders["Scale the segment by"].set_value(3.0)
    button(at, "Score the nudged sample").click().run()
    assert not at.exception, at.exception[0].message
    nudged, original = (score_of(line) for line in verdicts(at))
    assert original == pytest.approx(before[1]) and nudged > original * 2


def test_series_rows_of_the_wrong_length_are_named(tmp_path):
    rows = np.sin(np.linspace(0, 6, 40))[np.newaxis] * np.linspace(0.5, 1.5, 30)[:, np.newaxis]
    content = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows).encode()
    at = upload(start_app(), "waves.csv", content)
    assert not at.error, at.error[0].value
    train(at, epochs=1)
    at = go(at, PAGE)
    at.segmented_control(key="score_sample:how").set_value("Upload CSV").run()
    at.file_uploader(key="score_sample:rows").set_value(("short.csv", b"1,2,3\n4,5,6\n", "text/csv")).run()
    assert not at.exception, at.exception[0].message
    assert at.error[0].value.startswith("short.csv has rows of 3 values; the model takes samples of 40 values")
    at.file_uploader(key="score_sample:rows").set_value(("waves.csv", content, "text/csv")).run()
    assert not at.error and len(verdicts(at)) == 20, "the first 20 rows are shown one by one"
    [table] = [frame.value for frame in at.dataframe]
    assert len(table) == 30 and table["sample"].iloc[-1] == "waves.csv row 29"
    assert (table["flagged"] == (table["score"] > workspace(at).result.threshold.value)).all()


def test_a_time_series_model_says_how_its_series_are_scored():
    times = np.datetime64("2024-01-01") + np.arange(300) * np.timedelta64(1, "h")
    rows = [f"{str(t).replace('T', ' ')},{np.sin(i / 8):.4f}" for i, t in enumerate(times)]
    at = upload(start_app(), "sensor.csv", ("timestamp,value\n" + "\n".join(rows) + "\n").encode())
    [window] = [w for w in at.number_input if w.label == "Window length"]
    window.set_value(24)
    button(at, "Apply").click().run()
    train(at, epochs=1)
    at = go(at, PAGE)
    assert "A time-series model scores whole series" in at.info[0].value
    assert not at.get("plotly_chart") and not at.error
