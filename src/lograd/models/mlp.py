"""A multilayer perceptron: dense layers with an activation, logits out.

For layer sizes ``[d, h_1, ..., h_L, k]`` (k = 1 for two classes)::

    A_0 = X                                   (n, d)
    A_i = g(A_{i-1} W_i + b_i)                (n, h_i),   W_i (h_{i-1}, h_i), b_i (h_i,)
    Z   = A_L W_out + b_out                   (n, k): the logits (a column for two classes)

with ``g`` one of identity, logistic (σ), tanh, relu. Parameters are ordered as scikit-learn
packs them: every weight matrix, then every bias (``theta = [W_1, ..., W_out, b_1, ..., b_out]``);
the weights are penalized, the biases are not. Every derivative comes from the engine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lograd.autodiff import ops
from lograd.models.base import Model, Parameter

ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
}


@dataclass(frozen=True, eq=True)
class MLP(Model):
    """Dense layers of ``hidden`` units with ``activation``, then a linear output layer.

    Parameters
    ----------
    n_features : int
    hidden : tuple of int
        Units per hidden layer (may be empty: logistic regression).
    n_outputs : int
        1 for two classes (a sigmoid output), else the number of classes (softmax).
    activation : {'identity', 'logistic', 'tanh', 'relu'}
    """

    n_features: int
    hidden: tuple = (100,)
    n_outputs: int = 1
    activation: str = "relu"

    @property
    def layer_units(self) -> list:
        return [self.n_features, *self.hidden, self.n_outputs]

    @functools.cached_property  # (asked for at every step: built once)
    def parameters(self) -> tuple:
        units = self.layer_units
        n = len(units) - 1
        weights = tuple(Parameter(f"W{i + 1}", (units[i], units[i + 1]), penalized=True)
                        for i in range(n))
        biases = tuple(Parameter(f"b{i + 1}", (units[i + 1],), penalized=False)
                       for i in range(n))
        return weights + biases

    def layers(self, params):
        """``[(W_1, b_1), ..., (W_out, b_out)]`` from the parameters in theta's order."""
        n = len(params) // 2
        return list(zip(params[:n], params[n:]))

    def logits(self, params, X):
        activation = ACTIVATIONS[self.activation]
        layers = self.layers(params)
        A = X
        for W, b in layers[:-1]:
            A = activation(A @ W + b)  # (n, h_i)
        W, b = layers[-1]
        Z = A @ W + b  # (n, k)
        return Z.reshape(-1) if self.n_outputs == 1 else Z  # one logit per row for two classes

    # -- scikit-learn's layout ------------------------------------------------------------------
    def split(self, arrays):
        """``(coefs_, intercepts_)``: lists of the layers' weights and biases."""
        n = len(arrays) // 2
        return list(arrays[:n]), list(arrays[n:])


def initial_parameters(model: MLP, init, rng, dtype) -> list:
    """The starting weights and biases, in theta's order.

    Parameters
    ----------
    init : {'glorot', 'he', 'lecun', 'small'} or callable
        'glorot': scikit-learn's (uniform on ±√(f/(n_in + n_out)), f = 2 for the logistic
        activation, else 6; biases alike), drawn in its order, so the same ``random_state``
        gives scikit-learn's initial network; 'he': ``randn·√(2/n_in)`` (relu), 'lecun':
        ``randn·√(1/n_in)``, biases 0; 'small': ``randn·0.01``, biases 0 (the course's shallow
        network); a callable ``init(fan_in, fan_out, rng) -> (W, b)``.
    rng : numpy.random.RandomState
    """
    coefs, intercepts = [], []
    units = model.layer_units
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        if callable(init):
            W, b = init(fan_in, fan_out, rng)
        elif init == "glorot":
            factor = 2.0 if model.activation == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
            b = rng.uniform(-bound, bound, fan_out)
        else:
            scale = {"he": np.sqrt(2.0 / fan_in), "lecun": np.sqrt(1.0 / fan_in),
                     "small": 0.01}[init]
            W, b = rng.standard_normal((fan_in, fan_out)) * scale, np.zeros(fan_out)
        coefs.append(np.asarray(W, dtype=dtype))
        intercepts.append(np.asarray(b, dtype=dtype))
    return coefs + intercepts
