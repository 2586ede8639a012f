"""Teaching data: the course's flower, scikit-learn's moons and circles, and load_example."""

import numpy as np
import pytest
import sklearn.datasets

from lograd.datasets import (
    EXAMPLES,
    course_layout,
    load_example,
    make_circles,
    make_flower,
    make_moons,
)
from lograd.errors import UserError


def course_load_planar_dataset(rng):
    """The course's load_planar_dataset, line for line, drawing from ``rng`` (its
    ``np.random.seed(1)`` is ``RandomState(1)``; a local one leaves NumPy's global state alone)."""
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * 0.2
        r = a * np.sin(4 * t) + rng.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_flower_is_the_courses_planar_data():
    X, y = make_flower(random_state=1)
    course_X, course_Y = course_load_planar_dataset(np.random.RandomState(1))
    np.testing.assert_array_equal(X, course_X.T)
    np.testing.assert_array_equal(y, course_Y.ravel())
    assert X.dtype == np.float64 and y.dtype == np.int64
    layout_X, layout_Y = course_layout(X, y)
    np.testing.assert_array_equal(layout_X, course_X)
    np.testing.assert_array_equal(layout_Y, course_Y)


@pytest.mark.parametrize("n_samples", [2, 7, 400, 1001])
def test_flower_shape_and_class_balance(n_samples):
    X, y = make_flower(n_samples, random_state=0)
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    assert np.bincount(y).tolist() == [n_samples // 2, n_samples - n_samples // 2]
    assert (y[: n_samples // 2] == 0).all()  # class 0 first, as the course draws them
    assert np.isfinite(X).all()


def test_flower_without_noise_lies_on_the_petals():
    # x1 = r sin t, x2 = r cos t with r = 4 sin 4t: the polar angle phi of a point is t or t + pi
    # (r < 0), and sin 4(t + pi) = sin 4t, so |point| = |4 sin 4 phi| whatever the sign of r.
    X, y = make_flower(300, noise=0.0, random_state=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    phi = np.arctan2(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius, np.abs(4 * np.sin(4 * phi)), atol=1e-12)
    assert radius.max() == pytest.approx(4.0, abs=1e-3)  # petals of length a = 4
    noisy, _ = make_flower(300, noise=0.2, random_state=0)
    assert not np.allclose(noisy, X)


def test_flower_is_deterministic_for_a_seed_and_random_without_one():
    first, second = make_flower(random_state=3)[0], make_flower(random_state=3)[0]
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, make_flower(random_state=4)[0])
    assert not np.array_equal(make_flower()[0], make_flower()[0])
    state = np.random.RandomState(5)
    np.testing.assert_array_equal(make_flower(random_state=state)[0],
                                  make_flower(random_state=5)[0])


def test_moons_and_circles_are_scikit_learns_with_the_courses_settings():
    X, y = make_moons(random_state=2)
    X_ref, y_ref = sklearn.datasets.make_moons(n_samples=200, noise=0.2, random_state=2)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X, y = make_circles(random_state=2)
    X_ref, y_ref = sklearn.datasets.make_circles(n_samples=200, noise=0.3, factor=0.5,
                                                 random_state=2)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X, y = make_moons(51, noise=0.0, random_state=0)
    assert X.shape == (51, 2) and sorted(np.bincount(y)) == [25, 26]


@pytest.mark.parametrize("name", EXAMPLES)
def test_load_example_gives_the_same_rows_each_time(name):
    X, y, description = load_example(name)
    again, y_again, _ = load_example(name)
    np.testing.assert_array_equal(X, again)
    np.testing.assert_array_equal(y, y_again)
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.flags.c_contiguous
    assert X.ndim == 2 and y.shape == (X.shape[0],) and set(np.unique(y)) == {0, 1}
    assert len(description) > 40 and "\n" not in description
    expected = {"flower": (400, 2), "moons": (200, 2), "circles": (200, 2),
                "breast_cancer": (569, 30)}[name]
    assert X.shape == expected


def test_load_example_flower_is_make_flower_with_the_courses_seed():
    X, y, _ = load_example("flower")
    X_ref, y_ref = make_flower(random_state=1)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("call, message", [
    (lambda: load_example("iris"), "unknown example 'iris'; choose from flower, moons, circles, "
                                   "breast_cancer"),
    (lambda: make_flower(1), "n_samples must be a whole number, at least 2; got 1"),
    (lambda: make_flower(10.5), "got 10.5"),
    (lambda: make_flower(noise=-0.1), "noise must be a finite number, 0 or more; got -0.1"),
    (lambda: make_flower(noise="lots"), "noise must be a number; got 'lots'"),
    (lambda: make_flower(random_state=-1), "random_state must be None, a seed"),
    (lambda: make_flower(random_state=np.random.default_rng(0)), "random_state must be None"),
    (lambda: make_moons(noise=float("inf")), "noise must be a finite number"),
    (lambda: make_circles(factor=1.5), "factor must be between 0 and 1"),
    (lambda: make_circles(n_samples=0), "n_samples must be a whole number, at least 2; got 0"),
    (lambda: course_layout(np.ones((3, 2)), np.ones(2)), r"course_layout takes X of shape"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(UserError, match=message):
        call()
