"""gradcheck and gradgradcheck: finite differences against the engine, in float64.

The numerical Jacobian perturbs one input element at a time by +-eps (central
differences), writing straight into the input's array so that views the function takes
of its inputs see the perturbation too. The analytical Jacobian runs the backward engine
once per output element with a one-hot upstream gradient. Both are laid out as PyTorch
lays them out (rows: input elements, columns: output elements) so failure messages read
the same.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor, _make

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when a check fails (a RuntimeError, as PyTorch)."""


def _as_tuple(value):
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def _differentiable_outputs(outputs):
    return [o for o in outputs if isinstance(o, Tensor) and o._data.dtype.kind in "fcV"]


def _host(array):
    """A NumPy copy of a backend array (outputs may alias inputs being perturbed)."""
    if type(array).__module__.startswith("cupy"):
        return array.get()
    return np.array(array, copy=True)


def _numerical_jacobians(func, inputs, diff_positions, outputs, eps):
    """{(input i, output j): array (rows_in, cols_out)} by central differences. A complex
    input is perturbed along its real parts, then its imaginary parts (2 * numel rows);
    a complex output contributes its real parts, then its imaginary parts (2 * numel
    columns): the Jacobian of the function seen as a map between real spaces."""
    jacobians = {}
    for i in diff_positions:
        tensor = inputs[i]
        array = tensor._data
        n_in = array.size
        steps = (eps, eps * 1j) if array.dtype.kind == "c" else (eps,)
        per_output = [np.zeros((n_in * len(steps), _columns(o)), dtype=_real_host_dtype(o))
                      for o in outputs]
        for part, step in enumerate(steps):
            for flat in range(n_in):
                index = np.unravel_index(flat, array.shape) if array.ndim else ()
                original = array[index].copy()
                array[index] = original - step
                minus = [_host(o._data) for o in _differentiable_outputs(_as_tuple(func(*inputs)))]
                array[index] = original + step
                plus = [_host(o._data) for o in _differentiable_outputs(_as_tuple(func(*inputs)))]
                array[index] = original
                for j, (lo, hi) in enumerate(zip(minus, plus)):
                    per_output[j][part * n_in + flat] = _as_real_row((hi - lo) / (2 * eps))
        for j, jac in enumerate(per_output):
            jacobians[(i, j)] = jac
    return jacobians


def _columns(tensor):
    return tensor._data.size * (2 if tensor._data.dtype.kind == "c" else 1)


def _as_real_row(values):
    values = values.reshape(-1)
    return np.concatenate([values.real, values.imag]) if values.dtype.kind == "c" else values


def _host_dtype(tensor):
    kind = tensor._data.dtype.kind
    return tensor._data.dtype if kind in "fc" else np.float32


def _real_host_dtype(tensor):
    np_dtype = np.dtype(_host_dtype(tensor))
    return np_dtype.type(0).real.dtype if np_dtype.kind == "c" else np_dtype


def _analytical_jacobians(inputs, diff_positions, outputs):
    """{(input i, output j): array (rows_in, cols_out)} from the backward engine, one
    backward per output element with a one-hot upstream gradient (1, then i for the
    imaginary parts of a complex output). With PyTorch's convention the gradient of a
    complex input is d/dRe + i d/dIm of Re(conj(upstream) * output): its real and
    imaginary parts fill the rows laid out as in _numerical_jacobians."""
    from .engine import grad as autograd_grad

    diff_inputs = [inputs[i] for i in diff_positions]
    jacobians = {}
    for j, out in enumerate(outputs):
        n_out = out._data.size
        parts = (1, 1j) if out._data.dtype.kind == "c" else (1,)
        columns = {i: np.zeros((_columns(inputs[i]), n_out * len(parts)),
                               dtype=_real_host_dtype(inputs[i]))
                   for i in diff_positions}
        if out._requires_grad:
            xp = _array_module(out._data)
            for part, unit in enumerate(parts):
                for flat in range(n_out):
                    one_hot = xp.zeros(out._data.size, dtype=out._data.dtype)
                    one_hot[flat] = unit
                    upstream = _make(one_hot.reshape(out._data.shape))
                    grads = autograd_grad((out,), diff_inputs, (upstream,), retain_graph=True,
                                          allow_unused=True)
                    for i, g in zip(diff_positions, grads):
                        if g is not None:
                            if tuple(g.shape) != tuple(inputs[i].shape):
                                raise GradcheckError("Gradient has incorrect size")
                            columns[i][:, part * n_out + flat] = _as_real_row(_host(g._data))
        for i in diff_positions:
            jacobians[(i, j)] = columns[i]
    return jacobians


def _array_module(array):
    from .._backend import array_module

    return array_module(array)


def _format(jac, np_dtype):
    from .._ops.creation import tensor

    return repr(tensor(np.asarray(jac, dtype=np_dtype)))


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked=None) -> bool:
    """Check analytical gradients (the engine) against finite differences.

    Compares, for every differentiable input and output, the Jacobian the backward pass
    gives with one from central differences of step ``eps``: they must agree within
    ``|analytical - numerical| <= atol + rtol * |numerical|``. Use float64 inputs; other
    dtypes are too coarse for the default tolerances (a warning says so).

    Returns True, or raises ``GradcheckError`` (a RuntimeError) on mismatch; with
    ``raise_exception=False`` returns False instead.

    Example::

        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    inputs = _as_tuple(inputs)
    diff_positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    if not diff_positions:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of "
            "them have requires_grad=True."
        )
    for i in diff_positions:
        if inputs[i]._data.dtype != np.float64 and inputs[i]._data.dtype.kind != "c":
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point "
                "or complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                stacklevel=2,
            )
    outputs = _differentiable_outputs(_as_tuple(func(*inputs)))

    if not any(o._requires_grad for o in outputs):
        numerical = _numerical_jacobians(func, inputs, diff_positions, outputs, eps)
        for jac in numerical.values():
            if np.any(jac != 0):
                return _fail("Numerical gradient for function expected to be zero",
                             raise_exception)
        return True
    numerical = _numerical_jacobians(func, inputs, diff_positions, outputs, eps)
    if check_forward_ad:
        failure = _forward_ad_mismatch(func, inputs, diff_positions, numerical, rtol, atol)
        if failure is not None:
            return _fail(failure, raise_exception)
    if not check_backward_ad:
        return True

    analytical = _analytical_jacobians(inputs, diff_positions, outputs)
    for j, out in enumerate(outputs):
        for i in diff_positions:
            a, n = analytical[(i, j)], numerical[(i, j)]
            if check_grad_dtypes and a.dtype != inputs[i]._data.dtype:
                return _fail("Gradient has dtype mismatch", raise_exception)
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                return _fail(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{_format(n, n.dtype)}\nanalytical:{_format(a, a.dtype)}\n",
                    raise_exception,
                )

    again = _analytical_jacobians(inputs, diff_positions, outputs)
    for key, a in analytical.items():
        if a.size and np.max(np.abs(a - again[key])) > nondet_tol:
            return _fail(
                "Backward is not reentrant, i.e., running backward with same input and "
                "grad_output multiple times gives different values, although analytical "
                "gradient matches numerical gradient.The tolerance for nondeterminism was "
                f"{nondet_tol}.",
                raise_exception,
            )

    if check_undefined_grad and not _undefined_grad_ok(inputs, diff_positions, outputs):
        return _fail(
            "Expected backward function to handle undefined output grads. Please look at "
            "\"Notes about undefined output gradients\" in \"tools/autograd/derivatives.yaml\"",
            raise_exception,
        )
    return True


def _forward_ad_mismatch(func, inputs, diff_positions, numerical, rtol, atol):
    """The Jacobian forward-mode AD gives (one unit tangent per input element, through
    autograd.forward_ad) against the numerical one; a message on mismatch, else None.
    Real inputs and outputs only."""
    from . import forward_ad

    for i in diff_positions:
        array = inputs[i]._data
        if array.dtype.kind == "c":
            continue
        for flat in range(array.size):
            unit = np.zeros(array.size, dtype=array.dtype)
            unit[flat] = 1
            with forward_ad.dual_level():
                duals = list(inputs)
                for k in diff_positions:
                    tangent = unit.reshape(array.shape) if k == i else np.zeros_like(
                        inputs[k]._data)
                    duals[k] = forward_ad.make_dual(inputs[k], _make(tangent))
                outs = _differentiable_outputs(_as_tuple(func(*duals)))
                tangents = [forward_ad.unpack_dual(o).tangent for o in outs]
            for j, (out, tangent) in enumerate(zip(outs, tangents)):
                if out._data.dtype.kind == "c":
                    continue
                row = (np.zeros(out._data.size) if tangent is None
                       else _host(tangent._data).reshape(-1))
                expected = numerical[(i, j)][flat]
                if not np.allclose(row, expected, rtol=rtol, atol=atol):
                    return (f"Jacobian computed with forward mode mismatch for output {j} with "
                            f"respect to input {i},\nnumerical:{_format(expected, expected.dtype)}"
                            f"\nanalytical:{_format(row, row.dtype)}\n")
    return None


def _undefined_grad_ok(inputs, diff_positions, outputs):
    """A backward given all-zero upstream gradients must give zero (or no) gradients."""
    from .engine import grad as autograd_grad

    live = [o for o in outputs if o._requires_grad]
    zeros = [_make(_array_module(o._data).zeros_like(o._data)) for o in live]
    grads = autograd_grad(live, [inputs[i] for i in diff_positions], zeros,
                          retain_graph=True, allow_unused=True)
    for g in grads:
        if g is not None and bool(np.any(_host(g._data) != 0)):
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of the function ``(inputs, grad_outputs) ->
    autograd.grad(func(inputs), inputs, grad_outputs, create_graph=True)``.

    ``grad_outputs`` default to random float64 tensors that require grad, so the
    gradients with respect to the upstream gradient are checked as well.
    """
    from .engine import grad as autograd_grad

    inputs = _as_tuple(inputs)
    diff_positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in outputs:
            xp = _array_module(o._data)
            values = xp.asarray(rng.standard_normal(o._data.shape).astype(o._data.dtype))
            if gen_non_contig_grad_outputs and values.ndim:
                values = xp.repeat(values[..., None], 2, axis=-1)[..., 0]
            grad_outputs.append(_make(values, requires_grad=True))
    grad_outputs = list(_as_tuple(grad_outputs))
    n_inputs = len(inputs)

    def first_derivatives(*args):
        primal, upstream = args[:n_inputs], args[n_inputs:]
        outs = _differentiable_outputs(_as_tuple(func(*primal)))
        pairs = [(o, g) for o, g in zip(outs, upstream) if o._requires_grad]
        if not pairs:
            return ()
        grads = autograd_grad([o for o, _ in pairs], [primal[i] for i in diff_positions],
                              [g for _, g in pairs], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes)
