"""lograd: logistic regression by gradient descent, every derivative by backpropagation.

The names below load on first use (PEP 562): ``import lograd`` alone imports nothing heavy,
so the command line starts fast and handles Ctrl-C from its first moment;
``from lograd import Tensor`` loads NumPy and the engine, ``lograd.LogisticRegression``
scikit-learn.
"""

import importlib
import sys
import types

__version__ = "0.1.0"

# name -> the module defining it ("" for the submodule of that name)
_LAZY = {
    "OPS": "lograd.engine", "Tensor": "lograd.engine", "no_grad": "lograd.engine",
    "compile_grad": "lograd.compiled", "TraceError": "lograd.compiled",
    "gradcheck": "lograd.gradcheck", "GradcheckError": "lograd.gradcheck",
    "LogisticRegression": "lograd.estimator", "explain": "lograd.explain",
    "save": "lograd.model_io", "load": "lograd.model_io", "ops": "", "losses": "",
}
# Functions named like their modules: ``lograd.explain`` is the function, as it always was,
# even after ``import lograd.explain`` (which would set the attribute to the module).
_SHADOWED = {"explain", "gradcheck"}

__all__ = [
    "OPS", "Tensor", "no_grad", "compile_grad", "TraceError", "ops", "losses", "gradcheck",
    "GradcheckError", "LogisticRegression", "explain", "save", "load", "__version__",
]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'lograd' has no attribute {name!r}")
    importlib.import_module("lograd.losses")  # registers the fused op in the op table
    module = _LAZY[name]
    if not module:
        value = importlib.import_module(f"lograd.{name}")
    else:
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the import system binding a submodule: keep the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
