"""Temperature scaling, expected calibration error and the mixed threshold, on known numbers."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.sentiment.calibrate import (
    expected_calibration_error,
    fit_mixed_threshold,
    fit_temperature,
    mixed_strength,
    negative_log_likelihood,
    softmax,
)

pytestmark = pytest.mark.unit


def _overconfident(
    n: int, accuracy: float, margin: float, seed: int = 3
) -> tuple[np.ndarray, list[int]]:
    """Logits whose argmax is right ``accuracy`` of the time but always by ``margin``."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, size=n).tolist()
    logits = np.zeros((n, 3), dtype=np.float32)
    for i, g in enumerate(gold):
        guess = g if rng.random() < accuracy else (g + 1) % 3
        logits[i, guess] = margin
    return logits, gold


def test_softmax_rows_sum_to_one_and_temperature_flattens() -> None:
    logits = np.array([[4.0, 0.0, -2.0], [1000.0, 0.0, 0.0]], dtype=np.float32)
    sharp, flat = softmax(logits), softmax(logits, temperature=4.0)
    assert np.allclose(sharp.sum(axis=1), 1.0)
    assert np.isfinite(sharp).all()
    assert flat[0, 0] < sharp[0, 0]
    assert (flat.argmax(axis=1) == sharp.argmax(axis=1)).all()


def test_an_overconfident_model_gets_a_temperature_above_one_that_lowers_nll_and_ece() -> None:
    logits, gold = _overconfident(2000, accuracy=0.7, margin=8.0)
    temperature = fit_temperature(logits, gold)
    assert temperature > 2.0
    assert negative_log_likelihood(logits, gold, temperature) < negative_log_likelihood(
        logits, gold, 1.0
    )
    before = expected_calibration_error(softmax(logits), gold)
    after = expected_calibration_error(softmax(logits, temperature), gold)
    assert before > 0.25
    assert after < 0.05


def test_the_fitted_temperature_is_the_nll_minimum() -> None:
    logits, gold = _overconfident(500, accuracy=0.8, margin=5.0, seed=9)
    best = fit_temperature(logits, gold)
    for nearby in (best * 0.9, best * 1.1):
        assert negative_log_likelihood(logits, gold, best) <= negative_log_likelihood(
            logits, gold, nearby
        )


def test_ece_of_a_perfectly_calibrated_bin_is_zero() -> None:
    # Four predictions at confidence 0.75, three of them right: confidence equals accuracy.
    proba = np.array([[0.75, 0.2, 0.05]] * 4, dtype=np.float32)
    assert expected_calibration_error(proba, [0, 0, 0, 1]) == pytest.approx(0.0, abs=1e-6)
    assert expected_calibration_error(proba, [1, 1, 1, 1]) == pytest.approx(0.75, abs=1e-4)


def test_fit_temperature_needs_examples() -> None:
    with pytest.raises(ValueError, match="no examples"):
        fit_temperature(np.zeros((0, 3), dtype=np.float32), [])


def test_mixed_threshold_separates_two_sided_rows() -> None:
    proba = np.array(
        [
            [0.55, 0.05, 0.40],  # mixed
            [0.35, 0.10, 0.55],  # mixed
            [0.90, 0.08, 0.02],
            [0.05, 0.15, 0.80],
            [0.12, 0.76, 0.12],
        ],
        dtype=np.float32,
    )
    assert mixed_strength(proba).tolist() == pytest.approx([0.40, 0.35, 0.02, 0.05, 0.12])
    threshold = fit_mixed_threshold(proba, [True, True, False, False, False])
    assert 0.12 < threshold <= 0.35
