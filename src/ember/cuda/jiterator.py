"""``ember.cuda.jiterator``: elementwise CUDA kernels written as a C++ function string.

PyTorch's jiterator compiles the string with NVRTC at first use; here CuPy does the same
(``cupy.ElementwiseKernel`` with the string as its preamble), once per dtype. The entry
point is the last function the string defines; the tensors fill its first parameters and
the keyword arguments, in the order they were declared, the rest. Inputs broadcast and
are promoted to one dtype, which the kernel computes in and returns, as PyTorch's does.

Example::

    code = "template <typename T> T my_kernel(T x, T y, T alpha) { return -x + alpha * y; }"
    fn = ember.cuda.jiterator._create_jit_fn(code, alpha=1.0)
    out = fn(a, b, alpha=3.14)   # a, b cuda tensors
"""

from __future__ import annotations

import re

from .._backend.device import cupy_module

__all__ = ["_create_jit_fn"]

# a template function definition: its name and parameter list
_DEFINITION = re.compile(r"template\s*<[^>]*>\s*(?:[\w:]+[\s\*&]+)+?(\w+)\s*\(([^)]*)\)\s*\{")
_MAX_TENSORS = 8


class _JittedFunction:
    """What ``_create_jit_fn`` returns: call it with cuda tensors (and keyword arguments
    declared at creation)."""

    def __init__(self, code_string: str, return_by_ref: bool, num_outputs: int, **kwargs):
        if not (return_by_ref or num_outputs == 1):
            raise AssertionError("Return by value only works for single output.")
        definitions = _DEFINITION.findall(code_string)
        if not definitions:
            raise ValueError("jiterator: the code string defines no template function, e.g. "
                             "'template <typename T> T f(T x) { return x; }'")
        self.code_string = code_string
        self.kernel_name, params = definitions[-1]
        self.param_count = len([p for p in params.split(",") if p.strip()])
        self.return_by_ref = return_by_ref
        self.num_outputs = num_outputs
        self.kwargs_dict = kwargs
        self._kernels: dict = {}  # dtype -> compiled cupy.ElementwiseKernel

    def __call__(self, *tensors, **kwargs):
        from .._tensor import Tensor, _make

        if cupy_module() is None:
            raise AssertionError(
                "Jiterator is only supported on CUDA and ROCm GPUs, none are available.")
        if len(tensors) > _MAX_TENSORS:
            raise AssertionError(
                f"jiterator only supports up to 8 tensor inputs, got {len(tensors)}")
        values = dict(self.kwargs_dict)
        for key, value in kwargs.items():
            if key not in self.kwargs_dict:
                raise KeyError(f"{key} is not declared in function definition")
            values[key] = value
        if len(tensors) + len(values) != self.param_count:
            raise TypeError(f"{self.kernel_name} takes {self.param_count} arguments, got "
                            f"{len(tensors)} tensors and {len(values)} keyword arguments")
        for tensor in tensors:
            if not isinstance(tensor, Tensor) or tensor.device.type != "cuda":
                where = tensor.device if isinstance(tensor, Tensor) else type(tensor).__name__
                raise RuntimeError(f"jiterator: every input must be a cuda tensor, got {where}")
        dtype = tensors[0].dtype
        for tensor in tensors[1:]:
            dtype = _promote(dtype, tensor.dtype)
        arrays = [t.to(dtype)._data for t in tensors]  # CuPy's kernels broadcast
        scalar = arrays[0].dtype.type
        kernel = self._kernel(arrays[0].dtype, len(arrays), len(values))
        return _make(kernel(*arrays, *(scalar(v) for v in values.values())))

    def _kernel(self, np_dtype, n_tensors, n_scalars):
        key = (np_dtype.str, n_tensors, n_scalars)
        if key not in self._kernels:
            cp = cupy_module()
            inputs = [f"T in{i}" for i in range(n_tensors)] + \
                     [f"T arg{j}" for j in range(n_scalars)]
            call_args = [f"in{i}" for i in range(n_tensors)] + \
                        [f"arg{j}" for j in range(n_scalars)]
            self._kernels[key] = cp.ElementwiseKernel(
                ", ".join(inputs), "T out0", f"out0 = {self.kernel_name}({', '.join(call_args)})",
                f"jiterator_{self.kernel_name}", preamble=self.code_string)
        return self._kernels[key]


def _promote(first, second):
    from .._misc import promote_types

    return promote_types(first, second)


def _create_jit_fn(code_string: str, **kwargs) -> _JittedFunction:
    """An elementwise kernel from ``code_string`` (see the module docstring)."""
    return _JittedFunction(code_string, return_by_ref=False, num_outputs=1, **kwargs)
