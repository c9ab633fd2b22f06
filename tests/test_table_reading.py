"""How a CSV table is read (core.data.tables): each rule on a small hand-made file, the notices that say what was
done, the strict mode that refuses instead, the per-column scaler that fills blanks, and the shared ODDS tables."""

import numpy as np
import pandas as pd
import pytest

from core.config import DataConfig
from core.data import build_experiment_data, load_dataset
from core.data.tables import MAX_CATEGORIES, describe
from core.errors import DataError
from core.tabular import ColumnScaler

SHARED_TABLES = {
    "cardio": "label",
    "satimage2": "is_anomaly",
    "pendigits": "outlier",
    "annthyroid": "anomaly",
    "vowels": "label",
}


def table(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    """Two numeric columns of their own units, 0/1 anomalies in the last 4 rows."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"heart_rate": rng.normal(70, 5, rows), "weight": rng.normal(2000, 300, rows)})
    frame.loc[rows - 4 :, "heart_rate"] += 60
    return frame


def write(tmp_path, frame: pd.DataFrame, name: str = "table.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def anomaly_flags(rows: int = 40) -> np.ndarray:
    return (np.arange(rows) >= rows - 4).astype(int)


def test_a_numbered_header_is_a_table_and_its_label_column_is_found(tmp_path):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 4)), columns=["f0", "f1", "f2", "f3"])
    dataset = load_dataset(write(tmp_path, frame.assign(label=anomaly_flags())))
    assert dataset.feature_names == ("f0", "f1", "f2", "f3") and dataset.anomaly_classes == (1,)
    assert describe(dataset).startswith("Read as a table: 40 rows of 4 columns and its anomaly label")
    assert any("'label' is the anomaly label" in notice and "4 of 40" in notice for notice in dataset.notices)
    data = build_experiment_data(DataConfig(dataset=dataset.name, protocol="transductive"), seed=0)
    assert data.is_table and int(data.labels.sum()) == 4 and len(data.labels) == 40


@pytest.mark.parametrize("name", ["label", "is_anomaly", "Anomaly", "OUTLIER", "target", "class", "y"])
def test_a_zero_one_column_named_like_a_label_is_the_anomaly_label(tmp_path, name):
    frame = table()
    frame.insert(1, name, anomaly_flags())
    dataset = load_dataset(write(tmp_path, frame))
    assert dataset.feature_names == ("heart_rate", "weight")
    assert dataset.y_train.tolist() == anomaly_flags().tolist() and dataset.class_names == {0: "normal", 1: "anomaly"}


def test_a_column_named_y_of_other_values_is_a_feature(tmp_path):
    frame = table().assign(y=np.linspace(0, 5, 40))  # a coordinate, not a label
    dataset = load_dataset(write(tmp_path, frame))
    assert dataset.feature_names == ("heart_rate", "weight", "y") and not dataset.is_labeled


def test_identifiers_and_constant_columns_are_left_out_and_said(tmp_path):
    frame = table()
    frame.insert(0, "patient_id", np.arange(1000, 1040))
    frame.insert(1, "name", [f"patient {i}" for i in range(40)])
    frame["ward"] = "B"
    frame["row"] = np.arange(40)  # counts the rows
    frame["visits"] = np.arange(40) * 3 % 41  # distinct counts, but a quantity: kept
    dataset = load_dataset(write(tmp_path, frame))
    assert dataset.feature_names == ("heart_rate", "weight", "visits")
    assert "Left out as identifiers (a different value in every row): 'patient_id', 'name', 'row'." in dataset.notices
    assert "Left out as constant (one value in every row): 'ward'." in dataset.notices


def test_text_columns_of_few_values_are_one_hot_encoded_and_wider_ones_left_out(tmp_path):
    frame = table()
    frame["colour"] = ["red", "green", "blue", "green"] * 10
    frame["comment"] = [f"note {i % (MAX_CATEGORIES + 1)}" for i in range(40)]
    dataset = load_dataset(write(tmp_path, frame))
    assert dataset.feature_names == ("heart_rate", "weight", "colour=blue", "colour=green", "colour=red")
    assert dataset.feature_columns == ("heart_rate", "weight", "colour", "colour", "colour")
    np.testing.assert_array_equal(dataset.x_train[:4, 2:], [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    assert any(n.startswith("Text columns one-hot encoded") and "'colour' (3 values)" in n for n in dataset.notices)
    assert any(f"more than {MAX_CATEGORIES} distinct values: 'comment'" in n for n in dataset.notices)


def test_blank_cells_are_counted_and_filled_with_the_training_median(tmp_path):
    frame = table()
    frame.loc[[3, 7], "weight"] = np.nan
    frame.loc[5, "heart_rate"] = np.nan
    path = tmp_path / "gaps.csv"
    path.write_text(frame.to_csv(index=False).replace("nan", "").replace(",,", ",?,"))  # blanks, and one "?"
    dataset = load_dataset(str(path))
    assert np.isnan(dataset.x_train).sum() == 3
    assert "3 blank cells in 3 rows are filled with their column's median over the training rows." in dataset.notices
    train, scored = dataset.x_train[:30], dataset.x_train[30:]
    scaler = ColumnScaler().fit(train)
    np.testing.assert_allclose(scaler.center_, np.nanmedian(train, axis=0))  # the training rows' own
    filled = scaler.inverse_transform(scaler.transform(dataset.x_train))
    np.testing.assert_allclose(filled[[3, 7], 1], scaler.center_[1], rtol=1e-6)
    assert np.isfinite(scaler.transform(scored)).all()


def test_strict_mode_refuses_text_and_blanks_instead(tmp_path):
    with_text = table().assign(colour=["red", "green"] * 20)
    with pytest.raises(DataError, match=r"text\.csv has 'red' in column 'colour', which is not a number"):
        load_dataset(write(tmp_path, with_text, "text.csv"), strict=True)
    with_blank = table()
    with_blank.loc[2, "weight"] = np.nan
    with pytest.raises(DataError, match=r"blank\.csv has 1 blank cells \(first in row 2"):
        load_dataset(write(tmp_path, with_blank, "blank.csv"), strict=True)
    assert load_dataset(write(tmp_path, table(), "clean.csv"), strict=True).feature_names == ("heart_rate", "weight")


def test_the_cli_strict_mode_exits_with_one_line(tmp_path, capsys):
    from core.__main__ import main

    path = write(tmp_path, table().assign(colour=["red", "green"] * 20), "text.csv")
    config = tmp_path / "config.json"
    config.write_text(f'{{"data": {{"dataset": "{path}", "protocol": "transductive"}}}}')
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--strict"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "'colour'" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_layout_series_reads_rows_as_curves(tmp_path):
    path = write(tmp_path, table())
    dataset = load_dataset(path, layout="series")
    assert dataset.kind == "series" and dataset.feature_names == ()
    assert describe(dataset).startswith("Read as series: each of the 40 rows is one series of 2 steps")


def test_the_shared_tables_find_their_label_column_with_only_the_file_given(shared_data_dir):
    for name, label in SHARED_TABLES.items():
        path = str(shared_data_dir / "tables" / f"{name}.csv")
        dataset = load_dataset(path)
        assert dataset.anomaly_classes == (1,) and label not in dataset.feature_names, name
        data = build_experiment_data(DataConfig(dataset=path, protocol="transductive"), seed=0)
        assert data.labels.sum() == (pd.read_csv(path)[label] == 1).sum(), name


def test_the_cli_says_how_a_table_was_read_and_scores_it_by_its_label(tmp_path, capsys):
    from core.__main__ import main

    frame = table(rows=60).assign(ward=["A", "B", "C"] * 20)
    frame.insert(2, "is_anomaly", anomaly_flags(60))
    path = write(tmp_path, frame, "ward.csv")
    config = tmp_path / "config.json"
    config.write_text(f'{{"data": {{"dataset": "{path}", "protocol": "transductive"}}, "score": {{"baselines": []}}}}')
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "ward.csv: Read as a table: 60 rows of 3 columns and its anomaly label" in out
    assert "note: Column 'is_anomaly' is the anomaly label (1 = anomaly: 4 of 60 rows)" in out
    assert "note: Text columns one-hot encoded (one 0/1 feature per value): 'ward' (3 values)." in out
    assert "AUROC n/a" not in out and "AUROC " in out
