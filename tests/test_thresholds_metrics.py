import numpy as np
import pytest
from sklearn import metrics as skm

from core.config import ThresholdConfig
from core.errors import ConfigError
from core.metrics import OperatingCurve, evaluate, pr_curve, roc_curve
from core.thresholds import choose_threshold


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    normal = rng.gamma(2.0, 1.0, 5000)
    anomalous = rng.gamma(2.0, 1.0, 100) + 4.0
    scores = np.r_[normal, anomalous]
    labels = np.r_[np.zeros(5000, np.int8), np.ones(100, np.int8)]
    order = rng.permutation(len(scores))
    return scores[order], labels[order]


def test_operating_curve_matches_brute_force_at_every_kind_of_threshold(scored):
    scores, labels = scored
    curve = OperatingCurve(scores, labels)
    for threshold in [-1.0, 0.5, 3.0, float(np.median(scores)), float(scores.max()), float(np.sort(scores)[-7])]:
        flagged = scores > threshold
        point = curve.at(threshold)
        assert point["n_flagged"] == flagged.sum()
        assert point["true_positives"] == (flagged & (labels == 1)).sum()
        assert point["false_positives"] == (flagged & (labels == 0)).sum()
        if flagged.any():
            assert point["precision"] == pytest.approx(skm.precision_score(labels, flagged))
        assert point["recall"] == pytest.approx(skm.recall_score(labels, flagged))
        assert point["accuracy"] == pytest.approx(skm.accuracy_score(labels, flagged))
        assert point["accuracy_normal"] == pytest.approx((~flagged[labels == 0]).mean())


def test_without_labels_only_counts_are_reported(scored):
    scores, _ = scored
    result = evaluate(scores, None, 5.0)
    assert result["n_flagged"] == int((scores > 5.0).sum())
    for key in ("auroc", "average_precision", "precision", "recall", "f1", "accuracy", "confusion_matrix"):
        assert result[key] is None
    assert roc_curve(scores, None)[0].size == 0


def test_evaluate_agrees_with_scikit_learn(scored):
    scores, labels = scored
    result = evaluate(scores, labels, 4.5)
    assert result["auroc"] == pytest.approx(skm.roc_auc_score(labels, scores))
    assert result["average_precision"] == pytest.approx(skm.average_precision_score(labels, scores))
    assert np.array_equal(result["confusion_matrix"], skm.confusion_matrix(labels, scores > 4.5))
    fpr, tpr = roc_curve(scores, labels)
    precision, recall = pr_curve(scores, labels)
    assert fpr[0] == 0 and tpr[-1] == 1 and precision.size == recall.size


def test_thresholds_follow_their_definitions(scored):
    scores, labels = scored
    train = scores[labels == 0][:1000]
    quantile = choose_threshold(ThresholdConfig(method="quantile", q=0.999), scores)
    assert quantile.value == pytest.approx(np.quantile(scores, 0.999))
    assert "0.999 quantile" in quantile.explanation
    mean_std = choose_threshold(ThresholdConfig(method="mean_std", k=2.0), scores, train)
    assert mean_std.value == pytest.approx(train.mean() + 2 * train.std())
    assert choose_threshold(ThresholdConfig(method="max"), scores, train).value == pytest.approx(train.max())
    assert choose_threshold(ThresholdConfig(method="value", value=3.25), scores).value == 3.25
    contamination = choose_threshold(ThresholdConfig(method="contamination", rate=0.02), scores)
    assert abs((scores > contamination.value).mean() - 0.02) < 0.002
    fpr = choose_threshold(ThresholdConfig(method="fpr", rate=0.05), scores, labels=labels)
    assert abs((scores[labels == 0] > fpr.value).mean() - 0.05) < 0.002


def test_best_f1_is_the_best_cut(scored):
    scores, labels = scored
    choice = choose_threshold(ThresholdConfig(method="best_f1"), scores, labels=labels)
    best = OperatingCurve(scores, labels).at(choice.value)["f1"]
    brute = max(skm.f1_score(labels, scores > t) for t in np.unique(scores)[-400:])
    assert best == pytest.approx(brute)


def test_label_methods_need_labels(scored):
    scores, _ = scored
    with pytest.raises(ConfigError, match="needs labels"):
        choose_threshold(ThresholdConfig(method="best_f1"), scores)


def test_explanations_write_large_counts_with_thousands_separators():
    train_scores = np.random.default_rng(0).random(2335)
    for method in ("mean_std", "max"):
        choice = choose_threshold(ThresholdConfig(method=method), train_scores, train_scores)
        assert "2,335 training errors" in choice.explanation
