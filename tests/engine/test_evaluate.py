import numpy as np
import pytest

from sheetdl.engine.evaluate import classification_metrics, confusion_matrix, regression_metrics, roc_auc


def test_auc_matches_hand_computed_pairs_with_ties():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.5, 0.5, 0.9])
    # pairs (pos, neg): (0.5,0.1)=1 (0.5,0.5)=.5 (0.9,0.1)=1 (0.9,0.5)=1 → 3.5/4
    assert roc_auc(y, s) == pytest.approx(0.875)
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_classification_metrics():
    y = np.array([0, 1, 1, 2])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.6, 0.4, 0], [0, 0, 1.0]])
    m = classification_metrics(y, proba)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert "auc" not in m
    assert confusion_matrix(y, proba.argmax(1), 3).tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]


def test_regression_metrics():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert m["mae"] == pytest.approx(1 / 3)
    assert m["rmse"] == pytest.approx(np.sqrt(1 / 3))
    assert m["r2"] == pytest.approx(1 - 1 / 2)
