"""Tests for course_utils.data: shapes, balance, determinism and separability."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import data

GENERATORS = sorted(data.DATASETS)


def _phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_and_dtypes(name):
    ds = data.make_dataset(name, 0, n_train=123, n_test=45)
    x_train, y_train, x_test, y_test = ds
    assert x_train.shape == (123, 2) and x_test.shape == (45, 2)
    assert y_train.shape == (123,) and y_test.shape == (45,)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert np.all(np.isfinite(x_train)) and np.all(np.isfinite(x_test))


def test_circles_defaults_match_the_classic_assignment():
    x_train, y_train, x_test, y_test = data.circles(1)
    assert x_train.shape == (300, 2) and x_test.shape == (100, 2)
    assert set(np.unique(y_train)) == {0, 1}


@pytest.mark.parametrize("name,k", [("circles", 2), ("moons", 2), ("spirals", 3), ("blobs", 3)])
def test_classes_are_balanced(name, k):
    ds = data.make_dataset(name, 3, n_train=301, n_test=100)
    for y in (ds.y_train, ds.y_test):
        counts = np.bincount(y, minlength=k)
        assert len(counts) == k
        assert counts.max() - counts.min() <= 1
    assert ds.n_classes == k


def test_spirals_and_blobs_take_the_number_of_classes():
    assert data.spirals(0, n_classes=5).n_classes == 5
    assert data.blobs(0, n_classes=4).n_classes == 4
    assert data.blobs(0, centers=[[0, 0], [5, 5]]).n_classes == 2


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name):
    a = data.make_dataset(name, 7)
    b = data.make_dataset(name, np.random.default_rng(7))
    c = data.make_dataset(name, 8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.x_train, c.x_train)


def test_splits_differ_and_classes_are_shuffled():
    ds = data.circles(0)
    assert not np.array_equal(ds.x_train[:100], ds.x_test)
    # shuffled: the labels are not sorted into two blocks
    assert np.count_nonzero(np.diff(ds.y_train)) > 50


def test_no_global_random_state_is_used():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks it is untouched)
    data.spirals(0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_circles_are_separable_by_radius():
    """A radial threshold halfway between the rings, r* = (1 + factor)/2, separates the classes.

    Each point sits at distance 0.1 from r* (factor 0.8) before the noise; its radial
    displacement is approximately N(0, noise^2) (the tangential part changes the radius only to
    second order), so the error probability is p ~= Phi(-0.1/0.05) = Phi(-2) ~= 0.023. Over the
    400 points the error rate has standard error sqrt(p (1 - p) / 400) ~= 0.0075; we allow
    p + 4 SE. With noise 0 the rings are separated exactly.
    """
    ds = data.circles(0, noise=0.05)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    pred = (np.linalg.norm(x, axis=1) < 0.9).astype(int)
    p = _phi(-2.0)
    assert np.mean(pred != y) <= p + 4 * math.sqrt(p * (1 - p) / len(y))

    clean = data.circles(0, noise=0.0)
    radii = np.linalg.norm(clean.x_train, axis=1)
    np.testing.assert_allclose(radii[clean.y_train == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radii[clean.y_train == 1], 0.8, rtol=1e-6)


def test_blobs_nearest_centre_accuracy():
    """Nearest-centre classification of 3 blobs on a circle of radius 2, std 0.5.

    Neighbouring centres are 2*2*sin(pi/3) = 3.46 apart; the decision boundary between two of
    them is at distance 1.73 = 3.46 std, and a point can cross one of two such boundaries, so
    the error probability is at most p = 2 Phi(-3.46) ~= 5.4e-4 (union bound). The test allows
    p + 4 sqrt(p/400) over the 400 points (Poisson standard error), i.e. at most ~2 errors.
    """
    ds = data.blobs(0)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    angle = 2 * np.pi * np.arange(3) / 3
    centres = 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    pred = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    p = 2 * _phi(-2 * math.sin(math.pi / 3) / 0.5)
    assert np.mean(pred != y) <= p + 4 * math.sqrt(p / len(y))


def _knn_accuracy(ds: data.Dataset, k: int = 5) -> float:
    d2 = ((ds.x_test[:, None, :] - ds.x_train[None]) ** 2).sum(-1)
    nearest = np.argsort(d2, axis=1)[:, :k]
    votes = ds.y_train[nearest]
    pred = np.array([np.bincount(v, minlength=ds.n_classes).argmax() for v in votes])
    return float(np.mean(pred == ds.y_test))


def _linear_accuracy(ds: data.Dataset) -> float:
    """Least-squares one-vs-rest linear classifier (with bias), scored on the test split."""
    design = np.hstack([ds.x_train, np.ones((len(ds.x_train), 1))])
    targets = np.eye(ds.n_classes)[ds.y_train]
    coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
    test_design = np.hstack([ds.x_test, np.ones((len(ds.x_test), 1))])
    return float(np.mean((test_design @ coef).argmax(1) == ds.y_test))


@pytest.mark.parametrize("name", ["circles", "moons", "spirals"])
def test_nonlinear_sets_need_a_nonlinear_model(name):
    """A 5-nearest-neighbour rule fits each set; a linear classifier cannot (circles, spirals)
    or only partly (moons).

    Thresholds: 100 test points, so an accuracy has standard error <= sqrt(0.25/100) = 0.05.
    kNN on these low-noise sets is near 1 (measured ~0.95-1.0), so 0.85 is 2 SE below the worst;
    a linear rule on circles/spirals is near chance (0.5 / 0.33) and on moons ~0.85, each far
    (> 2 SE) from the kNN level required.
    """
    ds = data.make_dataset(name, 0, n_train=600, n_test=100)
    knn = _knn_accuracy(ds)
    linear = _linear_accuracy(ds)
    assert knn >= 0.85
    assert knn - linear >= 0.05 if name == "moons" else linear <= 0.75


def test_standardize_uses_training_statistics():
    x_train, _, x_test, _ = data.moons(0)
    a, b = data.standardize(x_train, x_test)
    np.testing.assert_allclose(a.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(a.std(0), 1.0, atol=1e-5)
    mean, std = x_train.astype(np.float64).mean(0), x_train.astype(np.float64).std(0)
    np.testing.assert_allclose(b, (x_test - mean) / std, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "call,exc,word",
    [
        (lambda: data.circles(0.5), TypeError, "rng"),
        (lambda: data.circles(0, n_train=0), ValueError, "n_train"),
        (lambda: data.circles(0, noise=-1), ValueError, "noise"),
        (lambda: data.circles(0, factor=1.5), ValueError, "factor"),
        (lambda: data.spirals(0, n_classes=1), ValueError, "n_classes"),
        (lambda: data.blobs(0, centers=[1, 2]), ValueError, "centers"),
        (lambda: data.make_dataset("mnist", 0), ValueError, "name"),
        (lambda: data.standardize(np.zeros(3)), ValueError, "x_train"),
    ],
)
def test_bad_input_names_the_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
