"""lograd: logistic regression by gradient descent, every derivative by backpropagation."""

__version__ = "0.1.0"

from lograd import losses, ops  # noqa: E402  (losses registers the fused op in the table)
from lograd.compiled import TraceError, compile_grad  # noqa: E402
from lograd.engine import OPS, Tensor, no_grad  # noqa: E402
from lograd.estimator import LogisticRegression  # noqa: E402
from lograd.explain import explain  # noqa: E402
from lograd.gradcheck import GradcheckError, gradcheck  # noqa: E402
from lograd.model_io import load, save  # noqa: E402

__all__ = [
    "OPS", "Tensor", "no_grad", "compile_grad", "TraceError", "ops", "losses", "gradcheck",
    "GradcheckError", "LogisticRegression", "explain", "save", "load", "__version__",
]
