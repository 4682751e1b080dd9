"""``cupy.ElementwiseKernel`` for the fake CuPy: the CUDA C++ body compiled by g++, run on
the CPU.

Why: ember's compiled kernels (``ember._backend.kernels``: the LSTM step, dropout masks,
max pooling, matmul under capture, jiterator strings) are what a GPU runs, but CI has no
GPU. Here each kernel's body is built into a shared library as one loop over CuPy's
index ``i`` and called through ctypes, so the oracle tests on ``--device cuda`` check the
kernels' own arithmetic and indexing, not only their array fallbacks. Where CuPy would
compile with NVRTC, this compiles with g++ (cached on disk by the source's hash); where no
g++ is found, a call raises ``NotImplementedError`` and ember takes the array path.

What it keeps of CuPy's contract (the part ember relies on):

- parameters are ``[raw] TYPE name``; ``TYPE`` is a dtype name (``float32``, ``int64``,
  ...) or a placeholder (``T``) bound from the arguments' dtypes, a mismatch is
  CuPy's ``TypeError``;
- non-raw arrays broadcast together and the loop runs over their size; in the body a
  non-raw input is its element (read only), a non-raw output a reference to its element;
  outputs not passed are allocated; with only raw arrays the ``size=`` keyword sets the
  loop size (``ValueError`` without it);
- a raw array is indexed by its flat C-order index; ``.size()`` and ``_ind.size()``;
- the preamble precedes the kernel, and the placeholders are typedefs inside it.

One check CuPy does not make: a raw index outside its array raises ``IndexError`` here,
where a GPU would read or write stray memory silently.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile

import numpy

import fake_cupy_graph as _graph
from fake_cupy_array import _common_device, _wrap

_C_TYPES = {
    "bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
    "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
    "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "_Float16",
    "float32": "float", "float64": "double", "complex64": "complex<float>",
    "complex128": "complex<double>",
}

_PRELUDE = r"""
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <complex>
#include <algorithm>
#include <limits>
using namespace std;
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __noinline__
#define __restrict__
static int _ember_out_of_bounds = 0;
template <typename T> struct _EmberRaw {
    T* data_;
    ptrdiff_t size_;
    int ndim_;
    const ptrdiff_t* shape_;
    T& operator[](ptrdiff_t k) const {
        if (k < 0 || k >= size_) {
            _ember_out_of_bounds = 1;
            static T stray;
            return stray;
        }
        return data_[k];
    }
    ptrdiff_t size() const { return size_; }
    int ndim() const { return ndim_; }
    const ptrdiff_t* shape() const { return shape_; }
};
static long long _ember_count(const long long* dims) {
    long long n = 1;
    for (long long k = 1; k <= dims[0]; ++k) n *= dims[k];
    return n;
}
struct _EmberIndex {
    ptrdiff_t size_;
    ptrdiff_t size() const { return size_; }
};
"""

_PARAM = re.compile(r"^\s*(raw\s+)?(\w+)\s+(\w+)\s*$")
_LIBRARIES: dict = {}  # source hash -> ctypes library


class CompileException(Exception):
    """``cupy.cuda.compiler.CompileException``: the body did not compile (g++'s log)."""


def _parse(params):
    """[(is_raw, type_name, name)] of a CuPy parameter string."""
    parsed = []
    for piece in (p for p in params.split(",") if p.strip()):
        match = _PARAM.match(piece)
        if match is None:
            raise ValueError(f"Invalid parameter: {piece.strip()!r}")
        raw, type_name, name = match.groups()
        parsed.append((bool(raw), type_name, name))
    return parsed


def _bind(types, type_name, dtype, name):
    """Bind placeholder ``type_name`` to ``dtype`` (CuPy's TypeError on a second dtype)."""
    if type_name in _C_TYPES:
        return
    dtype = numpy.dtype(dtype)
    bound = types.setdefault(type_name, dtype)
    if bound != dtype:
        raise TypeError(f"Type is mismatched. {name} {dtype} {bound} {type_name}")


def _dtype(types, type_name, name):
    if type_name in _C_TYPES:
        return numpy.dtype(type_name)
    if type_name not in types:
        raise TypeError(f"Cannot determine the type of {name!r} ({type_name} is unbound)")
    return types[type_name]


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``, its body compiled by g++ (see the module docstring)."""

    def __init__(self, in_params, out_params, operation, name="kernel", preamble="",
                 reduce_dims=True, no_return=False, return_tuple=False, loop_prep="",
                 after_loop="", options=(), **kwargs):
        self.in_params, self.out_params, self.operation = in_params, out_params, operation
        self.name, self.preamble = name, preamble
        self.loop_prep, self.after_loop = loop_prep, after_loop
        self.no_return, self.return_tuple = no_return, return_tuple
        self._inputs, self._outputs = _parse(in_params), _parse(out_params)

    def __call__(self, *args, size=None, block_size=None, stream=None):
        n_in, n_out = len(self._inputs), len(self._outputs)
        if len(args) not in (n_in, n_in + n_out):
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        outputs = list(args[n_in:]) or [None] * n_out
        arrays = [a for a in args if isinstance(a, numpy.ndarray)]
        device_id = _common_device(arrays)  # CuPy's TypeError for host arrays
        written = [a for a in outputs if a is not None]
        written += [a for (raw, _, _), a in zip(self._inputs, args) if raw]
        return _graph.launch(self._run, (list(args[:n_in]), outputs, size, device_id),
                             written=written)

    # -- one launch ----------------------------------------------------------------------

    def _run(self, inputs, outputs, size, device_id):
        outputs = list(outputs)  # a capture replays this call with the caller's list
        params = self._inputs + self._outputs
        values = inputs + outputs
        types = {}
        for (raw, type_name, name), value in zip(params, values):
            if isinstance(value, numpy.ndarray):
                _bind(types, type_name, value.dtype, name)
        for (raw, type_name, name), value in zip(self._inputs, inputs):
            if not isinstance(value, numpy.ndarray) and isinstance(value, numpy.generic):
                _bind(types, type_name, value.dtype, name)
        shape = self._loop_shape(params, values, size)
        n = size if shape is None else math.prod(shape)
        pointers, keep, copy_back, scalars = [], [], [], []
        for position, ((raw, type_name, name), value) in enumerate(zip(params, values)):
            dtype = _dtype(types, type_name, name)
            output = position >= len(inputs)
            if output and not raw and value is None:  # an output to allocate
                value = outputs[position - len(inputs)] = _wrap(numpy.empty(shape, dtype),
                                                                device_id)
            if value is None:
                raise ValueError(f"{self.name}: the raw output {name!r} must be passed")
            if not isinstance(value, numpy.ndarray):
                scalar = numpy.array(value, dtype=dtype)
                keep.append(scalar)
                pointers += [scalar.ctypes.data, None]
                scalars.append(True)
                continue
            host = value.view(numpy.ndarray)
            if not raw:
                host = numpy.broadcast_to(host, shape)
            work = host
            if work.dtype != dtype or not work.flags.c_contiguous:
                work = numpy.ascontiguousarray(work, dtype=dtype)
                if (raw or output) and value.flags.writeable:  # not a broadcast input
                    copy_back.append((value, work))
            dims = numpy.array((host.ndim,) + host.shape, dtype=numpy.int64)
            keep += [work, dims]
            pointers += [work.ctypes.data, dims.ctypes.data]
            scalars.append(False)
        library = build(self._source(types, scalars))
        argv = (ctypes.c_void_p * len(pointers))(*pointers)
        out_of_bounds = library.ember_kernel(argv, ctypes.c_longlong(n))
        for value, work in copy_back:
            value.view(numpy.ndarray)[...] = work
        if out_of_bounds:
            raise IndexError(f"kernel {self.name!r} indexed a raw array out of its bounds")
        if self.no_return:
            return None
        return outputs[0] if len(outputs) == 1 and not self.return_tuple else tuple(outputs)

    def _loop_shape(self, params, values, size):
        """The broadcast shape of the non-raw arrays (None: the loop size is ``size``)."""
        shapes = [v.shape for (raw, _, _), v in zip(params, values)
                  if not raw and isinstance(v, numpy.ndarray)]
        if not shapes:
            if size is None:
                raise ValueError("Loop size is undecided")
            return None
        if size is not None:
            raise ValueError("Specified 'size' can be used only if all of the ndarray are "
                             "'raw'.")
        return numpy.broadcast_shapes(*shapes)

    # -- the source and its library ------------------------------------------------------

    def _source(self, types, scalars):
        """The C++ of one launch: ``types`` binds the placeholders, ``scalars`` says which
        parameters received a scalar (a pointer to it) rather than an array (a data
        pointer, then ``[ndim, *shape]``)."""
        lines = [_PRELUDE, self.preamble,
                 'extern "C" int ember_kernel(void** _args, long long _n) {']
        lines += [f"    typedef {_C_TYPES[dtype.name]} {name};" for name, dtype in types.items()]
        lines += ["    _ember_out_of_bounds = 0;", "    _EmberIndex _ind = {(ptrdiff_t)_n};"]
        per_element = []
        params = self._inputs + self._outputs
        for slot, ((raw, type_name, name), scalar) in enumerate(zip(params, scalars)):
            c_type = _C_TYPES.get(type_name, type_name)
            data, dims = f"_args[{2 * slot}]", f"((long long*)_args[{2 * slot + 1}])"
            if scalar:
                lines.append(f"    {c_type} {name} = *({c_type}*){data};")
            elif raw:
                lines.append(f"    _EmberRaw<{c_type}> {name} = {{({c_type}*){data}, "
                             f"(ptrdiff_t)_ember_count({dims}), (int){dims}[0], "
                             f"(const ptrdiff_t*)({dims} + 1)}};")
            else:
                lines.append(f"    {c_type}* _p_{name} = ({c_type}*){data};")
                output = slot >= len(self._inputs)
                per_element.append(f"        {'' if output else 'const '}{c_type}"
                                   f"{'&' if output else ''} {name} = _p_{name}[i];")
        lines += [f"    {self.loop_prep};", "    for (ptrdiff_t i = 0; i < (ptrdiff_t)_n; ++i) {"]
        lines += per_element
        lines += [f"        {{ {self.operation}; }}", "    }", f"    {self.after_loop};",
                  "    return _ember_out_of_bounds;", "}"]
        return "\n".join(lines)


def _compiler():
    return shutil.which("g++") or shutil.which("c++")


def _cache_dir():
    path = os.environ.get("EMBER_FAKE_NVRTC_CACHE") or os.path.join(
        tempfile.gettempdir(), f"ember-fake-nvrtc-{os.getuid()}")
    os.makedirs(path, exist_ok=True)
    return path


def build(source):
    """The ctypes library of ``source`` (compiled once per source text, cached on disk)."""
    key = hashlib.sha256(source.encode()).hexdigest()[:24]
    library = _LIBRARIES.get(key)
    if library is not None:
        return library
    compiler = _compiler()
    if compiler is None:
        raise NotImplementedError("the CuPy double cannot compile CUDA C++ (no g++ found)")
    path = os.path.join(_cache_dir(), f"{key}.so")
    if not os.path.exists(path):
        partial = f"{path}.{os.getpid()}.tmp"
        result = subprocess.run([compiler, "-std=c++17", "-O1", "-shared", "-fPIC", "-w",
                                 "-x", "c++", "-", "-o", partial], input=source.encode(),
                                capture_output=True)
        if result.returncode:
            raise CompileException(result.stderr.decode(errors="replace") + "\n" + source)
        os.replace(partial, path)
    library = ctypes.CDLL(path)
    library.ember_kernel.restype = ctypes.c_int
    library.ember_kernel.argtypes = [ctypes.c_void_p, ctypes.c_longlong]
    _LIBRARIES[key] = library
    return library
