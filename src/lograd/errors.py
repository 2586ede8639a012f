"""Exceptions shared by every layer, and how their messages show values (imports nothing: the
CLI loads this module before anything heavy)."""


class UserError(ValueError):
    """Bad input from a user: the message is one line naming the file, row, column or parameter.

    The CLI prints it without a traceback and exits with status 2.
    """


class DivergenceError(ArithmeticError):
    """Training produced no usable model.

    Raised by ``fit`` when the objective became NaN/inf or exploded, when the fit ended no lower
    than where it started (a learning rate too large, say), or when the solver aborted without
    lowering it (L-BFGS's line search failing on its first step). The estimator keeps the best
    parameters seen in ``coef_``/``intercept_``; the message says what to change.
    """


def shown(value) -> str:
    """``repr`` of the plain Python value: ``'yes'`` and ``inf``, not ``np.str_('yes')`` and
    ``np.float64(inf)`` (NumPy 2's reprs), for messages."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar (or 0-d array)
    return repr(value)
