"""An uploaded table under AppTest: the Dataset page says how the file was read and what was changed, the layout
can be changed there, its label column scores the run with nothing chosen, and the Flagged page's bars keep the
user's column names, a one-hot encoded text column as one bar."""

import numpy as np
import pandas as pd
from test_pages import (  # noqa: F401 (navigation_runs_app_py: an autouse fixture)
    go,
    labelled,
    navigation_runs_app_py,
    start_app,
    train,
    upload,
    workspace,
)
from test_pages_flagged import array, card_figures


def patients(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(5000, 5000 + rows),
            "heart_rate": rng.normal(70, 5, rows),
            "weight": rng.normal(2000, 300, rows),
            "ward": ["A", "B", "C"] * (rows // 3),
            "is_anomaly": (np.arange(rows) >= rows - 6).astype(int),
        }
    )
    frame.loc[rows - 6 :, "heart_rate"] += 80
    frame.loc[4, "weight"] = np.nan
    return frame


def test_an_uploaded_table_says_how_it_was_read_and_keeps_its_column_names():
    at = upload(start_app(), "patients.csv", patients().to_csv(index=False).encode())
    assert not at.error, at.error[0].value
    [reading] = [info.value for info in at.info if info.value.startswith("Read as a table")]
    assert reading.startswith("Read as a table: 120 rows of 3 columns and its anomaly label")
    notices = " ".join(block.value for block in at.markdown)
    for said in ("'is_anomaly' is the anomaly label", "identifiers", "'patient_id'", "'ward' (3 values)", "1 blank"):
        assert said in notices, said
    assert labelled(at.selectbox, "Read a .csv as").value == "auto"
    counts = at.dataframe[0].value.set_index("samples")
    assert counts.loc["anomaly", "scored"] > 0, "the label column gives the anomalies with no class chosen"
    train(at, epochs=1)
    assert workspace(at).result.data.feature_columns == ("heart_rate", "weight", "ward", "ward", "ward")
    go(at, "pages/threshold.py")
    go(at, "pages/flagged.py")
    [bars] = card_figures(at)[0]["data"]
    assert list(array(bars["y"])) == ["heart_rate", "weight", "ward"]


def test_the_layout_can_be_changed_on_the_dataset_page():
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(60, 8)), columns=[f"f{i}" for i in range(8)])
    at = upload(start_app(), "numbered.csv", frame.to_csv(index=False).encode())
    assert any(info.value.startswith("Read as a table: 60 rows of 8 columns") for info in at.info)
    labelled(at.selectbox, "Read a .csv as").set_value("series").run()
    assert not at.exception and workspace(at).config.data.layout == "series"
    assert any(info.value.startswith("Read as series: each of the 60 rows") for info in at.info)
