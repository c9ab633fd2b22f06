"""The threshold histogram's logic: the arrays the browser answers metrics from, and the readable default scale."""

import numpy as np
import pytest

from core.metrics import OperatingCurve
from core.threshold_view import both_bins, browser_arrays, fullest_share, readable_scale, step_for


def browser_point(arrays: dict, threshold: float) -> dict:
    """What histogram.js computes at `threshold`: one binary search in the sorted errors, two array reads."""
    errors, running = arrays["error"], arrays.get("anomalies_up_to")
    at_most = int(np.searchsorted(errors, threshold, side="right"))
    point = {"n_flagged": len(errors) - at_most}
    if running is not None:
        positives = int(running[-1])
        missed = int(running[at_most - 1]) if at_most else 0
        point |= {"true_positives": positives - missed, "false_negatives": missed}
        point["false_positives"] = point["n_flagged"] - point["true_positives"]
    return point


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    scores = np.r_[rng.gamma(2.0, 0.01, 3000), rng.gamma(2.0, 0.01, 80) + 0.04]
    labels = np.r_[np.zeros(3000, np.int8), np.ones(80, np.int8)]
    order = rng.permutation(len(scores))
    return scores[order], labels[order]


def test_the_browser_arrays_give_cores_metrics_at_every_threshold(scored):
    scores, labels = scored
    curve = OperatingCurve(scores, labels)
    arrays = browser_arrays(curve)
    assert np.all(np.diff(arrays["error"]) >= 0)
    ties = np.sort(scores)[[0, 17, 1500, -7, -1]]  # exactly on a score: that score is not flagged
    for threshold in [-1.0, *ties, *np.quantile(scores, [0.1, 0.5, 0.97]), 10.0]:
        expected = curve.at(threshold)
        got = browser_point(arrays, float(threshold))
        for name, value in got.items():
            assert value == expected[name], (threshold, name)


def test_without_labels_the_browser_gets_the_errors_only(scored):
    arrays = browser_arrays(OperatingCurve(scored[0], None))
    assert set(arrays) == {"error"}
    assert browser_point(arrays, 0.05)["n_flagged"] == int((scored[0] > 0.05).sum())


def test_errors_with_their_bulk_in_one_bin_get_log_scaled_axes():
    """As the NAB demo's per-timestamp errors: most timestamps tiny, a jump's windows a thousand times larger, and the
    timestamps whose windows reach into the jump on a ramp between them."""
    rng = np.random.default_rng(0)
    ramp = np.exp(rng.uniform(-5, -1, 60))
    scores = np.r_[rng.lognormal(-6, 0.5, 3840), ramp, rng.lognormal(0, 0.1, 132)]
    linear, log = both_bins(scores, None)
    assert fullest_share(linear) > 0.5
    scale = readable_scale(linear, log)
    assert scale.log_x
    assert fullest_share(log) < fullest_share(linear) / 2
    assert scale.log_y, "the jump's few timestamps would be bars a few pixels high"


def test_spread_errors_keep_linear_axes(scored):
    linear, log = both_bins(*scored)
    assert readable_scale(linear, log).log_x is False
    assert readable_scale(linear, log).log_y is False


def test_errors_that_are_never_positive_are_never_log_scaled():
    scores = np.r_[np.zeros(990), np.full(10, -1.0)]
    linear, log = both_bins(scores, None)
    assert log is None
    assert readable_scale(linear, log).log_x is False


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (0.0031, 0.097), (12.0, 48_000.0), (5.0, 5.0)])
def test_a_key_step_is_a_round_200th_to_2000th_of_the_axis(low, high):
    step = step_for(low, high)
    assert np.log10(step) == pytest.approx(round(np.log10(step)))
    if high > low:
        assert (high - low) / 2000 <= step <= (high - low) / 200
