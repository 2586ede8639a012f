"""lograd: models trained by gradient descent, every derivative by backpropagation.

``from lograd import Tensor`` loads the engine only (NumPy and SciPy); the estimators, the fused
kernel (numba), file formats and pictures load when first used.
"""

__version__ = "0.1.0"

# name -> (module, attribute): imported on first access (PEP 562), so that the command line
# starts without NumPy and `from lograd import Tensor` loads only the engine
_LAZY = {
    "Tensor": ("lograd.autodiff.engine", "Tensor"),
    "OPS": ("lograd.autodiff.engine", "OPS"),
    "no_grad": ("lograd.autodiff.engine", "no_grad"),
    "ops": ("lograd.autodiff.ops", None),
    "compile_grad": ("lograd.autodiff.compile", "compile_grad"),
    "TraceError": ("lograd.autodiff.compile", "TraceError"),
    "gradcheck": ("lograd.autodiff.gradcheck", "gradcheck"),
    "GradcheckError": ("lograd.autodiff.gradcheck", "GradcheckError"),
    "LogisticRegression": ("lograd.estimators.logistic", "LogisticRegression"),
    "MLPClassifier": ("lograd.estimators.mlp", "MLPClassifier"),
    "datasets": ("lograd.datasets", None),
    "explain": ("lograd.lectures.logistic", "explain"),
    "explain_network": ("lograd.lectures.network", "explain_network"),
    "save": ("lograd.estimators.persistence", "save"),
    "load": ("lograd.estimators.persistence", "load"),
    "losses": ("lograd.losses", None),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'lograd' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # (found directly next time)
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "OPS", "Tensor", "no_grad", "compile_grad", "TraceError", "ops", "losses", "gradcheck",
    "GradcheckError", "LogisticRegression", "MLPClassifier", "datasets", "explain",
    "explain_network", "save", "load", "__version__",
]
