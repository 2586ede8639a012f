"""Compile a function of Tensors, once, into straight-line NumPy code for its value and gradient.

On every call the engine builds the graph anew: a Tensor per op, a topological sort, a dict of
pending gradients. When the graph's shape never changes (a training step on inputs of fixed
shapes) that work is the same each time. :func:`compile_grad` runs the function once with the
engine, records the ops it applies, and writes them out as one Python function: the forward ops
in the order they ran, then the VJPs in the order ``Tensor.backward()`` calls them, with the
broadcast sums and casts it needed. Later calls run that function, which does the same NumPy
operations on the same values: its results are bit-identical to the engine's, at a fraction of
its per-op cost (tinygrad's TinyJit and ``torch.jit.trace`` rest on the same idea).

Like any trace, it records one path through the function. Python control flow that depends on
values (``if loss.item() > 1``), values read out of Tensors (``t.data``), random draws and arrays
the function closes over are frozen as they were when it was traced: pass whatever changes
between calls as an argument. Arguments of a new shape, dtype or type get a trace of their own.
The first replay of every trace is checked against the engine (``check=True``), which catches
most of these mistakes with a :class:`TraceError`. ``.source()`` shows the generated code.
"""

from __future__ import annotations

import builtins
import keyword
import re
import threading

import numpy as np

from lograd.autodiff import engine
from lograd.autodiff.engine import Tensor, as_data, as_value, unbroadcast

MAX_TRACES = 16  # traces kept per compiled function, one per signature of its arguments
_one_trace_at_a_time = threading.Lock()
_GENERATED = re.compile(r"[acvsd]\d+")  # the code's variable names: an op may not take one


class TraceError(ValueError):
    """The function cannot be compiled, or its compiled trace disagrees with the engine."""


def compile_grad(fn, argnums=0, *, check=True) -> CompiledGrad:
    """``fn``'s value and its gradient with respect to the arguments ``argnums``, compiled.

    Parameters
    ----------
    fn : callable
        Takes Tensors (one per argument) and returns a Tensor holding a single value (the loss),
        computed with lograd ops.
    argnums : int or tuple of int, default 0
        The arguments to differentiate with respect to.
    check : bool, default True
        Compare the first replay of each trace with the engine, value and gradients, bit for bit,
        and raise :class:`TraceError` if they differ.

    Returns
    -------
    CompiledGrad
        Called with arrays or numbers (or Tensors, whose data is used), returns ``(value, grad)``:
        ``value`` the loss as a NumPy scalar or array, ``grad`` one array per argument in
        ``argnums`` (a tuple when ``argnums`` is a tuple), of that argument's shape and dtype.

    Examples
    --------
    >>> step = compile_grad(lambda w, b: ((x @ w + b).sigmoid().log() * -1.0).sum(), (0, 1))
    >>> loss, (dw, db) = step(w, b)
    """
    return CompiledGrad(fn, argnums, check)


class CompiledGrad:
    """See :func:`compile_grad`. Holds one trace per signature of the arguments."""

    def __init__(self, fn, argnums=0, check=True):
        wrt = (argnums,) if isinstance(argnums, int) else argnums
        if (not isinstance(wrt, (tuple, list)) or not wrt or len(set(wrt)) < len(wrt)
                or any(type(i) is not int or i < 0 for i in wrt)):
            raise ValueError(f"argnums must be a non-negative int or a tuple of distinct ones, "
                             f"got {argnums!r}")
        self.fn, self.argnums, self.check = fn, argnums, check
        self._wrt, self._single = tuple(wrt), isinstance(argnums, int)
        self._traces = {}  # signature of the arguments -> _Trace

    def __call__(self, *args):
        arrays, key = _signature(args)
        if engine.is_recording():  # (its ops would not reach the trace being recorded)
            raise TraceError("a compiled function was called while another one was being "
                             "traced; compile the outer function only")
        trace = self._traces.get(key)
        if trace is None:
            with _one_trace_at_a_time:  # (and the cache changes in one thread at a time)
                trace = self._traces.get(key)
                if trace is None:
                    trace, value, grads = _trace(self.fn, arrays, self._wrt)
                    trace.checked = not self.check
                    if len(self._traces) >= MAX_TRACES:  # batches of ever new sizes: drop one
                        del self._traces[next(iter(self._traces))]
                    self._traces[key] = trace
                    return value, grads[0] if self._single else grads
        value, grads = trace.run(*arrays)
        if not trace.checked:
            self._check(trace, arrays, value, grads)
        return value, grads[0] if self._single else grads

    def source(self, *args) -> str:
        """The generated code for arguments like ``args`` (traced now if it is not yet)."""
        if _signature(args)[1] not in self._traces:
            self(*args)
        return self._traces[_signature(args)[1]].source

    def _check(self, trace, arrays, value, grads):
        eager_value, eager_grads = _eager(self.fn, arrays, self._wrt)
        pairs = [("value", value, eager_value)]
        pairs += [(f"gradient of argument {i}", g, e)
                  for i, g, e in zip(self._wrt, grads, eager_grads)]
        for what, compiled, reference in pairs:
            if not _identical(compiled, reference):
                raise TraceError(
                    f"the compiled {getattr(self.fn, '__name__', 'function')} gives a different "
                    f"{what} than the engine on the same arguments: its result depends on "
                    "something the trace froze (control flow on values, .data or .item(), random "
                    "draws, or state changed between calls); pass that as an argument or do not "
                    "compile it"
                )
        trace.checked = True


def _signature(args):
    """The arguments as the engine holds them, and what a trace depends on: type, shape, dtype."""
    arrays = [as_data(a.data if isinstance(a, Tensor) else a) for a in args]
    return arrays, tuple([(type(a), a.shape, a.dtype) for a in arrays])


def _identical(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _eager(fn, arrays, wrt):
    """Value and gradients by the engine, as Tensor.backward() computes them."""
    inputs = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    out = fn(*inputs)
    out.backward()
    return out.data, tuple(_zero_like(inputs[i].data) if inputs[i].grad is None
                           else inputs[i].grad for i in wrt)


def _describe(value) -> str:
    """A constant, as the generated source's header shows it."""
    if np.ndim(value) == 0 and not hasattr(value, "nnz"):
        return repr(value.item() if hasattr(value, "item") else value)
    kind = type(value).__name__
    return f"{kind} of shape {value.shape}, {value.dtype}"


def _zero_like(data):
    return as_value(np.zeros_like(data))


class _Trace:
    """One signature's generated function, ``run(*arrays) -> (value, grads)``, and its source."""

    def __init__(self, source, namespace):
        self.source = source
        code = builtins.compile(source, "<lograd.autodiff.compile>", "exec")
        exec(code, namespace)  # defines forward_backward from the generated source
        self.run = namespace["forward_backward"]
        self.checked = False


def _trace(fn, arrays, wrt):
    """Run ``fn`` once on the engine, recording its ops; generate the straight-line code."""
    for i in wrt:
        if i >= len(arrays):
            raise ValueError(f"argnums names argument {i}, but the function got {len(arrays)}")
    inputs = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    records = []
    with engine.recording(lambda *record: records.append(record)):
        out = fn(*inputs)
    if not isinstance(out, Tensor) or np.size(out.data) != 1:
        raise TraceError(f"the function must return a Tensor holding a single value, "
                         f"got {type(out).__name__} of shape {np.shape(getattr(out, 'data', out))}")
    if not out.requires_grad:
        raise TraceError(f"the function's result does not depend on its arguments {wrt}")
    return _Writer(inputs, records, wrt).write(out)


class _Writer:
    """Turns the recorded ops into the source of ``forward_backward`` and its namespace."""

    def __init__(self, inputs, records, wrt):
        self.inputs, self.records, self.wrt = inputs, records, wrt
        self.names = {t: f"a{i}" for i, t in enumerate(inputs)}  # Tensor -> its data's name
        self.masks = {}  # id of a traced comparison's boolean array -> its name
        # (generated names: a, c, v, s, d, p, fn, seed, dtype + a number; op names as they are)
        self.namespace = {"as_value": as_value, "unbroadcast": unbroadcast, "np": np,
                          "forward_backward": None}  # (reserved: the generated function)
        self.constants = []  # (name, value) of the constants baked in, for the source's header

    def ref(self, tensor) -> str:
        """The name of ``tensor``'s data: a variable if traced, else a constant baked in."""
        name = self.names.get(tensor)
        if name is None and id(tensor.data) in self.masks:  # a mask computed in the trace
            name = self.names[tensor] = self.masks[id(tensor.data)]
        if name is None:
            if tensor.requires_grad:
                raise TraceError("the function uses a Tensor that requires a gradient but is not "
                                 "one of its arguments; pass it as an argument")
            name = self.names[tensor] = f"c{len(self.names)}"
            self.namespace[name] = tensor.data
            self.constants.append((name, tensor.data))
        return name

    def constant(self, prefix, value) -> str:
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def function(self, name, function) -> str:
        """A name for an op's forward or VJP in the code: the op's own name where it is free."""
        if (not name.isidentifier() or keyword.iskeyword(name) or _GENERATED.fullmatch(name)
                or self.namespace.get(name, function) is not function):
            return self.constant("fn", function)
        self.namespace[name] = function
        return name

    def write(self, out):
        forward = self.forward_lines()
        backward, used, value, grads, grad_values = self.backward_lines(out)
        used.add(self.names[out])
        live = []  # forward lines whose results are used: walked backwards
        for target, operands, line in reversed(forward):
            if target in used:
                used.update(operands)
                live.append(line)
        params = ", ".join(f"a{i}" for i in range(len(self.inputs)))
        # each gradient an array of its own, as backward() gives a leaf (two may be one array)
        returned = [f"np.array({g})" if type(v) is np.ndarray else g
                    for g, v in zip(grads, grad_values)]
        grad_names = ", ".join(returned) + ("," if len(grads) == 1 else "")
        source = "\n".join(
            [f"def forward_backward({params}):"]
            + [f"    # {name} = {_describe(value)}" for name, value in self.constants
               if name in used]
            + ["    # forward: the ops in the order they ran"]
            + [f"    {line}" for line in reversed(live)]
            + ["    # backward: dL/d(node), in the order Tensor.backward() takes them"]
            + [f"    {line}" for line in backward]
            + [f"    return {self.names[out]}, ({grad_names})", ""]
        )
        return _Trace(source, self.namespace), value, tuple(grad_values)

    def forward_lines(self):
        traced, lines = set(self.inputs), []
        for k, (op, inputs, params, out, value) in enumerate(self.records):
            if not any(t in traced or id(t.data) in self.masks for t in inputs):
                continue  # depends on constants only: its value is baked in where it is used
            operands = [self.ref(t) for t in inputs]
            call = ", ".join(operands)
            kwargs = {key: v for key, v in params.items() if key != "saved"}
            if kwargs:
                call += f", **{self.constant('p', kwargs)}"
            target = f"v{k}"
            if out is None:  # a comparison: a plain boolean array, found again by its identity
                self.masks[id(value)] = target  # (the record keeps the array alive)
            else:
                traced.add(out)
                self.names[out] = target
            saved = f", s{k}" if op.saves else ""
            line = f"{target}{saved} = {self.function(op.name, op.forward)}({call})"
            if out is not None and out.data is not value:  # apply() stored it converted
                line += f"\n    {target} = as_value({target})"
            lines.append((target, operands, line))
        return lines

    def backward_lines(self, out):
        """The engine's backward pass run once, writing down each VJP call as it makes it and
        what it did to the result (see :func:`lograd.autodiff.engine.backpropagate`)."""
        for node in engine.backward_order(out):
            self.ref(node)  # (every node that needs a gradient must be traced)
        seed = out._seed(None)
        lines = [f"d0 = {self.constant('seed', seed)}" + (".copy()" if seed.ndim else "")
                 + "  # dL/dL = 1"]
        names, used = {out: "d0"}, set()  # node -> the name of its gradient (so far)

        def write_down(node, i, parent, fixes, added):
            k = self.names[node][1:]
            operands = [self.names[node]] + [self.ref(t) for t in node.parents]
            call = f"{names[node]}, " + ", ".join(operands)
            if node.op.saves:
                call += f", saved=s{k}"
                operands.append(f"s{k}")
            kwargs = {key: v for key, v in node.params.items() if key != "saved"}
            if kwargs:
                call += f", **{self.constant('p', kwargs)}"
            used.update(operands)
            expr = f"{self.function(f'{node.op.name}_vjp{i}', node.op.vjps[i])}({call})"
            target = node._inputs[i]
            for fix in fixes:  # in the order the engine made them
                if fix == "result":
                    expr = f"as_value(np.asarray({expr}))"
                elif fix == "unbroadcast":
                    expr = f"unbroadcast({expr}, {target.shape!r})"
                else:
                    expr = f"{expr}.astype({self.constant('dtype', target.dtype)})"
            name = f"d{len(lines)}"
            lines.append(f"{name} = {names[parent]} + {expr}" if added else f"{name} = {expr}")
            names[parent] = name

        engine.backpropagate(out, seed, watch=write_down)
        grads, values = [], []
        for i in self.wrt:
            leaf = self.inputs[i]
            if leaf in names:
                grads.append(names[leaf])
                values.append(leaf.grad)
            else:  # the result does not depend on this argument
                grads.append(f"d{len(lines)}")
                values.append(_zero_like(leaf.data))
                lines.append(f"{grads[-1]} = as_value(np.zeros_like(a{i}))")
        return lines, used, out.data, grads, values
