"""Data to teach with: generated here or shipped with scikit-learn, never downloaded.

The course's shallow-network lesson trains on a "planar flower" of two classes of petals in 2-D
(:func:`make_flower`); its extra data sets are scikit-learn's moons and circles
(:func:`make_moons`, :func:`make_circles`, with the course's noise). :func:`load_example` gives
each of them, and scikit-learn's bundled breast-cancer data, by name.

Every function returns scikit-learn's layout, ``X`` of shape (m, n) with one row per example
and ``y`` of shape (m,). The course stacks examples as columns instead, ``X`` of shape
(n_x, m) and ``Y`` of shape (1, m): :func:`course_layout` converts.
"""

from __future__ import annotations

import math

import numpy as np

from lograd.errors import UserError

FLOWER_PETAL_LENGTH = 4.0  # the course's a: the radius r = a*sin(4t) reaches 4
FLOWER_ANGLE_SPAN = 3.12  # the course's angle range per class: t in [3.12*j, 3.12*(j+1)]
EXAMPLE_SEED = 1  # the course seeds its flower with 1; load_example seeds every set with it
EXAMPLES = ("flower", "moons", "circles", "breast_cancer")


def make_flower(n_samples=400, *, noise=0.2, random_state=None):
    """The course's "planar flower": two classes of petals in the plane.

    For each class j = 0, 1 with N_j points (N_0 = n_samples // 2, N_1 the rest), as the
    course's ``load_planar_dataset`` draws them::

        t = linspace(3.12*j, 3.12*(j+1), N_j) + noise*randn(N_j)     # angle
        r = 4*sin(4*t) + noise*randn(N_j)                             # radius
        X[class j] = (r*sin(t), r*cos(t)),   y = j

    in that order of draws, class 0 first: with ``random_state=1`` and ``noise=0.2`` (the
    course's ``np.random.seed(1)``) these are the course's 400 points, here one row per point.

    Parameters
    ----------
    n_samples : int, default 400
        Number of points, at least 2 (one per class).
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to both the angle and the radius.
    random_state : int, numpy.random.RandomState or None, default None
        As in scikit-learn: a seed for a legacy ``RandomState`` (whose ``randn`` the course
        uses), a ``RandomState`` to draw from, or None for fresh randomness.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
        Class 0's points, then class 1's.
    y : ndarray of shape (n_samples,), int64
        0 or 1.

    Examples
    --------
    >>> X, y = make_flower(random_state=1)
    >>> X.shape, int(y.sum())
    ((400, 2), 200)
    """
    n_samples = _count(n_samples, "n_samples", least=2)
    noise = _non_negative(noise, "noise")
    rng = _random_state(random_state)
    X = np.empty((n_samples, 2))
    y = np.empty(n_samples, dtype=np.int64)
    start = 0
    for j, size in enumerate((n_samples // 2, n_samples - n_samples // 2)):
        rows = slice(start, start + size)
        t = (np.linspace(j * FLOWER_ANGLE_SPAN, (j + 1) * FLOWER_ANGLE_SPAN, size)
             + rng.randn(size) * noise)
        r = FLOWER_PETAL_LENGTH * np.sin(4 * t) + rng.randn(size) * noise
        X[rows, 0], X[rows, 1] = r * np.sin(t), r * np.cos(t)
        y[rows] = j
        start += size
    return X, y


def make_moons(n_samples=200, *, noise=0.2, random_state=None):
    """Two interleaving half circles: scikit-learn's ``make_moons`` with the course's noise.

    Parameters
    ----------
    n_samples : int, default 200
        As in the course's ``load_extra_datasets``.
    noise : float, default 0.2
        Standard deviation of Gaussian noise added to every coordinate (the course's value).
    random_state : int, numpy.random.RandomState or None, default None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,), int64
        0 for the outer (upper) moon, 1 for the inner one; rows shuffled.
    """
    from sklearn.datasets import make_moons as sklearn_make_moons

    n_samples = _count(n_samples, "n_samples", least=2)
    return sklearn_make_moons(n_samples=n_samples, noise=_non_negative(noise, "noise"),
                              random_state=random_state)


def make_circles(n_samples=200, *, noise=0.3, factor=0.5, random_state=None):
    """A circle inside a circle: scikit-learn's ``make_circles`` with the course's settings.

    Parameters
    ----------
    n_samples : int, default 200
        As in the course's ``load_extra_datasets``.
    noise : float, default 0.3
        Standard deviation of Gaussian noise added to every coordinate (the course's value).
    factor : float, default 0.5
        Radius of the inner circle over the outer one's, in (0, 1) (the course's value).
    random_state : int, numpy.random.RandomState or None, default None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,), int64
        0 for the outer circle, 1 for the inner one; rows shuffled.
    """
    from sklearn.datasets import make_circles as sklearn_make_circles

    n_samples = _count(n_samples, "n_samples", least=2)
    factor = float(factor)
    if not 0 < factor < 1:
        raise UserError(f"factor must be between 0 and 1 (the inner circle's radius over the "
                        f"outer's); got {factor:g}")
    return sklearn_make_circles(n_samples=n_samples, noise=_non_negative(noise, "noise"),
                                factor=factor, random_state=random_state)


def load_example(name):
    """One of the teaching data sets by name, always the same rows.

    Parameters
    ----------
    name : {"flower", "moons", "circles", "breast_cancer"}
        ``flower``: :func:`make_flower` (400 points, the course's); ``moons`` and ``circles``:
        :func:`make_moons` and :func:`make_circles` (200 points each); generated with
        ``random_state=1``. ``breast_cancer``: scikit-learn's bundled copy (569 rows, 30
        features; 1 = benign).

    Returns
    -------
    X : ndarray of shape (m, n), float64
    y : ndarray of shape (m,), int64
        0 or 1.
    description : str
        One paragraph: what the data is and where it comes from.

    Raises
    ------
    lograd.errors.UserError
        For an unknown name, listing the known ones.
    """
    if name == "flower":
        X, y = make_flower(random_state=EXAMPLE_SEED)
        about = ("The course's planar flower: 400 points in 2-D, two classes of petals "
                 "(r = 4 sin 4t, angle and radius with noise 0.2), 200 per class; generated by "
                 "lograd.datasets.make_flower(random_state=1), as the course's "
                 "load_planar_dataset draws them.")
    elif name == "moons":
        X, y = make_moons(random_state=EXAMPLE_SEED)
        about = ("Two interleaving half circles in 2-D, 200 points with noise 0.2 (the course's "
                 "noisy_moons); scikit-learn's make_moons with random_state=1.")
    elif name == "circles":
        X, y = make_circles(random_state=EXAMPLE_SEED)
        about = ("A circle inside a circle in 2-D, 200 points, inner radius 0.5, noise 0.3 (the "
                 "course's noisy_circles); scikit-learn's make_circles with random_state=1.")
    elif name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        X, y = bunch.data, bunch.target
        about = ("Breast-cancer diagnosis, scikit-learn's bundled copy of the Wisconsin data: "
                 "569 tumours, 30 measurements each; y = 1 benign, 0 malignant.")
    else:
        raise UserError(f"unknown example {name!r}; choose from {', '.join(EXAMPLES)}")
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64), about


def course_layout(X, y):
    """From scikit-learn's layout to the course's: examples as columns.

    Parameters
    ----------
    X : array_like of shape (m, n_x)
    y : array_like of shape (m,)

    Returns
    -------
    X : ndarray of shape (n_x, m)
        ``X.T``, copied to be C-contiguous.
    Y : ndarray of shape (1, m)
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise UserError(f"course_layout takes X of shape (m, n) and y of shape (m,); got "
                        f"{X.shape} and {y.shape}")
    return np.ascontiguousarray(X.T), y.reshape(1, -1).copy()


def _random_state(random_state) -> np.random.RandomState:
    """As scikit-learn's check_random_state (which costs a second to import): a seed, a
    RandomState, or None."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if random_state is None or (isinstance(random_state, (int, np.integer))
                                and not isinstance(random_state, bool)
                                and 0 <= random_state < 2**32):
        return np.random.RandomState(random_state)
    raise UserError(f"random_state must be None, a seed from 0 to 2**32 - 1 or a "
                    f"numpy.random.RandomState; got {random_state!r}")


def _count(value, name, least):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise UserError(f"{name} must be a whole number, at least {least}; got {value!r}")
    return int(value)


def _non_negative(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number; got {value!r}") from None
    if not (math.isfinite(number) and number >= 0):
        raise UserError(f"{name} must be a finite number, 0 or more; got {value!r}")
    return number


__all__ = ["make_flower", "make_moons", "make_circles", "load_example", "course_layout",
           "EXAMPLES"]
