"""Small two-dimensional data sets generated in-process (no downloads).

Every generator takes an explicit random source ``rng`` (a ``numpy.random.Generator`` or an
``int`` seed) and returns a :class:`Dataset`, a named tuple that unpacks as

>>> x_train, y_train, x_test, y_test = circles(0)            # doctest: +SKIP

* ``x_*`` is ``float32`` of shape ``(n, 2)``;
* ``y_*`` is ``int64`` of shape ``(n,)`` holding class labels ``0 .. k-1``.

Binary losses in the numpy network want a column of floats: ``y[:, None].astype(np.float32)``.
Classes are balanced: with ``n`` points and ``k`` classes every class gets ``n // k`` or
``n // k + 1`` points. The test split is drawn from the same distribution as the training split
but with fresh noise, so a model that memorises the training points is caught by it.

No real data set is shipped: none of the installed packages contains one (scikit-learn is not
a dependency), and the course never downloads at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = [
    "DATASETS",
    "Dataset",
    "blobs",
    "circles",
    "make_dataset",
    "moons",
    "spirals",
    "standardize",
]


class Dataset(NamedTuple):
    """A train/test split of a 2-D classification problem (unpacks as a 4-tuple)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        """Number of distinct labels over both splits."""
        return int(max(self.y_train.max(initial=-1), self.y_test.max(initial=-1)) + 1)


# --------------------------------------------------------------------------- helpers


def _as_generator(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
    )


def _check_count(name: str, value: int, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_nonneg(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _class_sizes(n: int, k: int) -> np.ndarray:
    """Balanced class sizes: the first ``n % k`` classes get one extra point."""
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    return sizes


def _finish(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the points (so classes are interleaved) and fix the dtypes."""
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def _split(
    sample: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator | int,
    n_train: int,
    n_test: int,
) -> Dataset:
    gen = _as_generator(rng)
    n_train = _check_count("n_train", n_train, 1)
    n_test = _check_count("n_test", n_test, 0)
    x_train, y_train = _finish(*sample(n_train, gen), gen)
    x_test, y_test = _finish(*sample(n_test, gen), gen)
    return Dataset(x_train, y_train, x_test, y_test)


# --------------------------------------------------------------------------- data sets


def circles(
    rng: np.random.Generator | int,
    n_train: int = 300,
    n_test: int = 100,
    *,
    noise: float = 0.05,
    factor: float = 0.8,
) -> Dataset:
    """Two concentric circles: label 0 on the outer ring (radius 1), label 1 on the inner one.

    The data set of the classic initialization assignment (300 training and 100 test points,
    ``sklearn.datasets.make_circles(noise=0.05)``, whose default ``factor`` is 0.8): points are
    evenly spaced in angle on each ring (with a random phase per split) and displaced by
    isotropic Gaussian noise of standard deviation ``noise``. The classes are not linearly
    separable, so a network needs hidden units - and a working initialization - to fit them.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source (an int is used as a seed).
    n_train, n_test : int
        Number of training and test points (classes balanced within each split).
    noise : float
        Standard deviation of the Gaussian displacement of each coordinate.
    factor : float
        Radius of the inner circle relative to the outer one, ``0 < factor < 1``.

    Returns
    -------
    Dataset
        ``(x_train, y_train, x_test, y_test)``; ``x`` float32 ``(n, 2)``, ``y`` int64 ``(n,)``.

    Examples
    --------
    >>> x_train, y_train, x_test, y_test = circles(0)
    >>> x_train.shape, y_train.shape, x_test.shape
    ((300, 2), (300,), (100, 2))
    """
    noise = _check_nonneg("noise", noise)
    factor = float(factor)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must lie strictly between 0 and 1, got {factor}")

    def sample(n: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n_out, n_in = _class_sizes(n, 2)
        xs, ys = [], []
        for label, (count, radius) in enumerate(((n_out, 1.0), (n_in, factor))):
            phase = gen.uniform(0.0, 2.0 * np.pi)
            theta = phase + np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
            ring = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
            xs.append(ring + noise * gen.standard_normal((count, 2)))
            ys.append(np.full(count, label))
        return np.concatenate(xs), np.concatenate(ys)

    return _split(sample, rng, n_train, n_test)


def moons(
    rng: np.random.Generator | int,
    n_train: int = 300,
    n_test: int = 100,
    *,
    noise: float = 0.1,
) -> Dataset:
    """Two interleaving half-moons (label 0 upper moon, label 1 lower moon).

    The upper moon is the half circle ``(cos t, sin t)``, ``t`` in ``[0, pi]``; the lower one is
    ``(1 - cos t, 1/2 - sin t)``. Angles are drawn uniformly; Gaussian noise of standard deviation
    ``noise`` is added to each coordinate.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source.
    n_train, n_test : int
        Split sizes (balanced classes).
    noise : float
        Standard deviation of the Gaussian noise.

    Returns
    -------
    Dataset
        ``(x_train, y_train, x_test, y_test)``.

    Examples
    --------
    >>> data = moons(1, n_train=200)
    >>> data.x_train.shape, data.n_classes
    ((200, 2), 2)
    """
    noise = _check_nonneg("noise", noise)

    def sample(n: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n_up, n_down = _class_sizes(n, 2)
        t_up = gen.uniform(0.0, np.pi, n_up)
        t_down = gen.uniform(0.0, np.pi, n_down)
        up = np.stack([np.cos(t_up), np.sin(t_up)], axis=1)
        down = np.stack([1.0 - np.cos(t_down), 0.5 - np.sin(t_down)], axis=1)
        x = np.concatenate([up, down]) + noise * gen.standard_normal((n, 2))
        y = np.concatenate([np.zeros(n_up), np.ones(n_down)])
        return x, y

    return _split(sample, rng, n_train, n_test)


def spirals(
    rng: np.random.Generator | int,
    n_train: int = 300,
    n_test: int = 100,
    *,
    n_classes: int = 3,
    noise: float = 0.2,
    turns: float = 0.75,
) -> Dataset:
    """``n_classes`` interleaved spiral arms in the unit disc.

    Arm ``j`` is ``r (cos t, sin t)`` with radius ``r`` uniform in ``[0, 1]`` and angle
    ``t = 2 pi (j / k + turns * r) + noise * eps``, ``eps ~ N(0, 1)``: the noise is angular, so
    it grows with the radius as in the usual "spiral" toy problem. Hard for a linear model,
    easy for a small MLP that trains.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source.
    n_train, n_test : int
        Split sizes (balanced classes).
    n_classes : int
        Number of arms (classes), at least 2.
    noise : float
        Standard deviation of the angular noise in radians.
    turns : float
        How many full turns an arm makes from the centre to radius 1.

    Returns
    -------
    Dataset
        ``(x_train, y_train, x_test, y_test)`` with labels ``0 .. n_classes - 1``.

    Examples
    --------
    >>> data = spirals(0, n_classes=4)
    >>> sorted(set(data.y_train.tolist()))
    [0, 1, 2, 3]
    """
    k = _check_count("n_classes", n_classes, 2)
    noise = _check_nonneg("noise", noise)
    turns = float(turns)
    if not np.isfinite(turns):
        raise ValueError(f"turns must be finite, got {turns}")

    def sample(n: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        sizes = _class_sizes(n, k)
        y = np.repeat(np.arange(k), sizes)
        r = gen.uniform(0.0, 1.0, n)
        t = 2.0 * np.pi * (y / k + turns * r) + noise * gen.standard_normal(n)
        x = r[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
        return x, y

    return _split(sample, rng, n_train, n_test)


def blobs(
    rng: np.random.Generator | int,
    n_train: int = 300,
    n_test: int = 100,
    *,
    n_classes: int = 3,
    std: float = 0.5,
    centers: np.ndarray | None = None,
    radius: float = 2.0,
) -> Dataset:
    """Isotropic Gaussian blobs, one per class.

    Class ``j`` is ``N(c_j, std^2 I)``. By default the centres ``c_j`` sit evenly on a circle of
    the given ``radius`` (``c_j = radius (cos 2 pi j/k, sin 2 pi j/k)``), so neighbouring
    centres are ``2 radius sin(pi/k)`` apart; pass ``centers`` to place them yourself.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source.
    n_train, n_test : int
        Split sizes (balanced classes).
    n_classes : int
        Number of blobs; ignored when ``centers`` is given.
    std : float
        Standard deviation of each coordinate within a blob.
    centers : array_like of shape (k, 2), optional
        Explicit blob centres.
    radius : float
        Radius of the circle carrying the default centres.

    Returns
    -------
    Dataset
        ``(x_train, y_train, x_test, y_test)``.

    Examples
    --------
    >>> data = blobs(0, n_classes=2, std=0.3)
    >>> data.n_classes
    2
    """
    std = _check_nonneg("std", std)
    if centers is None:
        k = _check_count("n_classes", n_classes, 2)
        angle = 2.0 * np.pi * np.arange(k) / k
        centres = float(radius) * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[1] != 2 or centres.shape[0] < 1:
            raise ValueError(f"centers must have shape (k, 2) with k >= 1, got {centres.shape}")
        if not np.all(np.isfinite(centres)):
            raise ValueError("centers must be finite")
        k = centres.shape[0]

    def sample(n: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.arange(k), _class_sizes(n, k))
        x = centres[y] + std * gen.standard_normal((n, 2))
        return x, y

    return _split(sample, rng, n_train, n_test)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "circles": circles,
    "moons": moons,
    "spirals": spirals,
    "blobs": blobs,
}
"""Name -> generator, for widgets and loops over data sets."""


def make_dataset(name: str, rng: np.random.Generator | int, **kwargs) -> Dataset:
    """Generate the data set called ``name`` (a key of :data:`DATASETS`).

    Examples
    --------
    >>> make_dataset("moons", 0, noise=0.2).x_train.shape
    (300, 2)
    """
    try:
        generator = DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}") from None
    return generator(rng, **kwargs)


def standardize(x_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Centre and scale every column with the training split's mean and standard deviation.

    ``x' = (x - mean(x_train)) / std(x_train)``; the test split is transformed with the
    training statistics (never its own), as in practice. Returns float32 arrays.

    Examples
    --------
    >>> x_train, y_train, x_test, y_test = moons(0)
    >>> x_train, x_test = standardize(x_train, x_test)
    >>> bool(abs(x_train.mean()) < 1e-6)
    True
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    if x_train.ndim != 2 or x_train.shape[0] < 2:
        raise ValueError(f"x_train must be 2-D with at least 2 rows, got shape {x_train.shape}")
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    out = [((x_train - mean) / std).astype(np.float32)]
    for i, x in enumerate(others):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != x_train.shape[1]:
            raise ValueError(f"others[{i}] must have shape (n, {x_train.shape[1]}), got {x.shape}")
        out.append(((x - mean) / std).astype(np.float32))
    return tuple(out)
