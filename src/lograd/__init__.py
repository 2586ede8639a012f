"""lograd: logistic regression by gradient descent, every derivative by backpropagation."""

__version__ = "0.1.0"

from lograd import ops  # noqa: E402
from lograd.engine import OPS, Tensor, no_grad  # noqa: E402
from lograd.gradcheck import GradcheckError, gradcheck  # noqa: E402

__all__ = ["OPS", "Tensor", "no_grad", "ops", "gradcheck", "GradcheckError", "__version__"]
