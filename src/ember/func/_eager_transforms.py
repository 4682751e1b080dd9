"""grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian, as ``torch.func``.

Every transform is ember's reverse-mode engine underneath. A transform makes the tensors
it differentiates fresh graph roots (a detached leaf, or a view of the user's tensor when
an outer derivative has to reach it), runs the function, and asks ``autograd.grad``.

Composition (grad of grad, jacfwd of jacrev, grad inside vmap, plain ``.backward()`` on a
result) needs the inner transform to build a differentiable graph. A transform does so
when it is *connected*: grad mode is on and it runs inside another transform, or one of
its inputs already requires grad, or the function's graph reaches a tensor outside that
requires grad (a closed-over parameter: a gradient penalty backpropagates through
``grad``'s result into the model). Otherwise it builds nothing and returns plain tensors,
as PyTorch's do.

Forward mode (jvp, linearize, jacfwd) uses the double-vjp trick: with a dummy cotangent
``u`` that requires grad, ``g(u) = J^T u`` is linear in ``u``, so the gradient of
``g . t`` with respect to ``u`` is ``J t``. Building ``g`` once and differentiating it for
each tangent gives linearize and jacfwd's columns.
"""

from __future__ import annotations

import contextlib
import functools

from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.engine import grad as _engine_grad
from ._pytree import tree_flatten, tree_map, tree_unflatten
from ._vmap import _check_randomness_arg, _randomness

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize", "vjp"]

_JVP = "jvp(f, primals, tangents)"


class _Nesting:
    """How many differentiating transforms are running (their functions are on the stack):
    inside one, every inner transform must keep its graph for the outer one."""

    depth = 0


@contextlib.contextmanager
def _transform_level():
    _Nesting.depth += 1
    try:
        with grad_mode.enable_grad():  # a transform ignores a no_grad outside it
            yield
    finally:
        _Nesting.depth -= 1


def _wraps(func, wrapper):
    try:
        return functools.wraps(func)(wrapper)
    except (AttributeError, TypeError):
        return wrapper


def _tensor_leaves(tree):
    return [leaf for leaf in tree_flatten(tree)[0] if isinstance(leaf, Tensor)]


def _connected(*trees) -> bool:
    """Whether results must stay differentiable for someone outside this transform."""
    if not grad_mode.is_grad_enabled():
        return False
    if _Nesting.depth > 0:
        return True
    return any(t.requires_grad for tree in trees for t in _tensor_leaves(tree))


def _reaches_outside(values, roots) -> bool:
    """Whether the graph of ``values`` reaches a tensor that requires grad other than the
    transform's own roots: a closed-over parameter, say, whose gradient an outer
    ``.backward()`` will want through the transform's results."""
    root_ids = {id(root) for root in roots}
    stack = []
    for value in values:
        if not isinstance(value, Tensor) or not value.requires_grad:
            continue
        if value.grad_fn is None:
            if id(value) not in root_ids:
                return True
            continue
        stack.append(value.grad_fn)
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:  # a leaf's AccumulateGrad
            if id(variable) not in root_ids:
                return True
            continue
        for edge in node.next_functions or ():
            if edge is not None and edge[0] is not None:
                stack.append(edge[0])
    return False


def _differentiable(value, connected):
    """The root a transform differentiates with respect to."""
    if not isinstance(value, Tensor):
        raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError here
            f"Thing passed to transform API must be Tensor, got {type(value)}")
    if connected and value.requires_grad:
        return value.view_as(value)  # keeps the path to whatever value depends on
    return value.detach().requires_grad_(True)


def _unwrap_aux(aux, connected):
    """has_aux's second output: tensors in (nested) tuples, lists and dicts only, as
    PyTorch's; detached unless the transform is connected."""
    if isinstance(aux, Tensor):
        return aux if connected else aux.detach()
    if isinstance(aux, tuple) and hasattr(aux, "_fields"):
        return type(aux)(*(_unwrap_aux(a, connected) for a in aux))
    if isinstance(aux, (tuple, list)):
        return type(aux)(_unwrap_aux(a, connected) for a in aux)
    if isinstance(aux, dict):
        return type(aux)((k, _unwrap_aux(v, connected)) for k, v in aux.items())
    raise RuntimeError(f"Expected tensors, got unsupported type {type(aux)}")


def _autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=True):
    """autograd.grad over the outputs that require grad; zeros for inputs they miss."""
    from .._ops.creation import zeros_like

    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    grads = [None] * len(inputs)
    if pairs and inputs:
        live_outputs = [o for o, _ in pairs]
        live_grads = [g for _, g in pairs]
        if all(g is None for g in live_grads):
            live_grads = None
        grads = _engine_grad(live_outputs, list(inputs), live_grads, retain_graph=retain_graph,
                             create_graph=create_graph, allow_unused=True)
    return [zeros_like(inp) if g is None else g for g, inp in zip(grads, inputs)]


# ---------------------------------------------------------------------------------------
# argnums
# ---------------------------------------------------------------------------------------

def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")  # noqa: TRY004 - torch's
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _normalize_argnums(argnums, num_args):
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    if not isinstance(argnums, tuple):
        raise RuntimeError(  # noqa: TRY004 - PyTorch's type
            f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    argnums = tuple(_wrap_argnum(a, num_args) for a in argnums)
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return argnums


def _slice_argnums(args, argnums):
    """The arguments at argnums: one argument for an int, a tuple of them for a tuple."""
    if isinstance(argnums, int):
        return args[argnums]
    return tuple(args[i] for i in argnums)


def _replace_args(args, new, argnums):
    args = list(args)
    if isinstance(argnums, int):
        args[argnums] = new
    else:
        for index, value in zip(argnums, new):
            args[index] = value
    return tuple(args)


# ---------------------------------------------------------------------------------------
# grad, grad_and_value, vjp
# ---------------------------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux=False):
    """Like :func:`grad`, but the wrapped function returns ``(gradient, value)`` (with
    ``has_aux``: ``(gradient, (value, aux))``)."""

    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs)

    return _wraps(func, wrapper)


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar-valued ``func`` with respect to the arguments at
    ``argnums`` (an int, or a tuple for a tuple of gradients). Arguments may be nests of
    tensors (a dict of parameters); the gradient has the same structure.

    Example:
        >>> ember.func.grad(lambda x: x.sin().sum())(x)  # == x.cos()
    """

    def wrapper(*args, **kwargs):
        gradient, value = _grad_and_value(func, argnums, has_aux, args, kwargs)
        if has_aux:
            return gradient, value[1]
        return gradient

    return _wraps(func, wrapper)


def _grad_and_value(func, argnums, has_aux, args, kwargs):
    outer_grad = grad_mode.is_grad_enabled()
    connected = _connected(args, kwargs)
    with _transform_level():
        argnums = _normalize_argnums(argnums, len(args))
        flat_diff, diff_spec = tree_flatten(_slice_argnums(args, argnums))
        roots = [_differentiable(value, connected) for value in flat_diff]
        args = _replace_args(args, tree_unflatten(roots, diff_spec), argnums)
        output = func(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise RuntimeError(
                    "grad_and_value(f)(*args): output of function f should be a tuple: "
                    "(output, aux) if has_aux is True"
                )
            output, aux = output
        if not isinstance(output, Tensor):
            raise RuntimeError(  # noqa: TRY004
                f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                f"{type(output)}"
            )
        if output.dim() != 0:
            raise RuntimeError(
                "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                f"tensor with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                "APIs instead?"
            )
        if outer_grad and not connected:
            connected = _reaches_outside([output, *_tensor_leaves(aux)], roots)
        if has_aux:
            aux = _unwrap_aux(aux, connected)
        grads = _autograd_grad([output], roots, create_graph=connected)
    gradient = tree_unflatten(grads, diff_spec)
    if not connected:
        output = output.detach()
    if has_aux:
        return gradient, (output, aux)
    return gradient, output


class _Traced:
    """``func`` run once at fresh roots for the primals: what vjp, jvp, linearize, jacrev
    and jacfwd all start from."""

    def __init__(self, func, args, argnums, has_aux, api):
        outer_grad = grad_mode.is_grad_enabled()
        self.connected = _connected(args)
        self.transposed = None  # built on the first jvp
        with _transform_level():
            if argnums is None:
                diff = args
            else:
                argnums = _normalize_argnums(argnums, len(args))
                diff = _slice_argnums(args, argnums)
            flat_diff, self.diff_spec = tree_flatten(diff)
            self.roots = [_differentiable(value, self.connected) for value in flat_diff]
            rooted = tree_unflatten(self.roots, self.diff_spec)
            if argnums is None:
                call_args = rooted
            else:
                call_args = _replace_args(args, rooted, argnums)
            output = func(*call_args)
            self.aux = aux = None
            if has_aux:
                if not (isinstance(output, tuple) and len(output) == 2):
                    raise RuntimeError(
                        f"{api}: output of function f should be a tuple: (output, aux) if "
                        "has_aux is True"
                    )
                output, aux = output
            self.outputs, self.out_spec = tree_flatten(output)
            if outer_grad and not self.connected:
                self.connected = _reaches_outside(self.outputs + _tensor_leaves(aux),
                                                  self.roots)
            if has_aux:
                self.aux = _unwrap_aux(aux, self.connected)
            if (len(self.outputs) == 1 and self.outputs[0] is None) or not self.outputs:
                raise RuntimeError(
                    f"{api}: Expected f to be a function that has non-empty output (got "
                    f"output = {self.outputs})"
                )
            for out in self.outputs:
                if not isinstance(out, Tensor):
                    raise RuntimeError(  # noqa: TRY004
                        f"{api}: expected f(*primals) to return only tensors, got unsupported "
                        f"type {type(out)}"
                    )

    def value(self):
        outputs = self.outputs if self.connected else [o.detach() for o in self.outputs]
        return tree_unflatten(outputs, self.out_spec)

    def wants_graph(self, *extra):
        """create_graph for a product computed now: also when the vectors require grad or
        the call happens inside a transform."""
        return grad_mode.is_grad_enabled() and (
            self.connected or _Nesting.depth > 0
            or any(t.requires_grad for tree in extra for t in _tensor_leaves(tree)))

    def vjp(self, flat_cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = self.wants_graph(flat_cotangents)
        with grad_mode.enable_grad():
            grads = _autograd_grad(self.outputs, self.roots, flat_cotangents,
                                   retain_graph=retain_graph, create_graph=create_graph)
        return grads if create_graph else [g.detach() for g in grads]

    def build_transpose(self):
        """g(u) = J^T u for dummy cotangents u, kept differentiable in u."""
        from .._ops.creation import zeros_like

        if self.transposed is not None:
            return
        self.dummies = {}
        self.transposed = []
        with _transform_level():
            live = [i for i, out in enumerate(self.outputs)
                    if out.requires_grad and (out.is_floating_point() or out.is_complex())]
            for i in live:
                self.dummies[i] = zeros_like(self.outputs[i]).requires_grad_(True)
            if not live:
                return
            grads = _engine_grad([self.outputs[i] for i in live], self.roots,
                                 [self.dummies[i] for i in live], create_graph=True,
                                 allow_unused=True)
            self.transposed = [(k, g) for k, g in enumerate(grads)
                               if g is not None and g.requires_grad]

    def jvp(self, flat_tangents, strict=False):
        """J t, one tensor per output (zeros where an output does not depend on t)."""
        from .._ops.creation import zeros_like

        self.build_transpose()
        create_graph = self.wants_graph(flat_tangents)
        products = [None] * len(self.outputs)
        if self.transposed:
            order = list(self.dummies)
            with grad_mode.enable_grad():
                found = _engine_grad(
                    [g for _, g in self.transposed], [self.dummies[i] for i in order],
                    [flat_tangents[k] for k, _ in self.transposed], retain_graph=True,
                    create_graph=create_graph, allow_unused=True)
            for i, product in zip(order, found):
                products[i] = product
        result = []
        for out, product in zip(self.outputs, products):
            if product is None:
                if strict:
                    raise RuntimeError(
                        "jvp(f, primals, tangents, strict=True): The output of f is "
                        "independent of the inputs. This is not allowed with strict=True."
                    )
                product = zeros_like(out)
            result.append(product if create_graph else product.detach())
        return result


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns the vector-Jacobian
    product for each primal (a tuple). ``has_aux``: ``(output, vjp_fn, aux)``."""
    traced = _Traced(func, primals, None, has_aux, "vjp(f, *primals)")
    _check_float_outputs(traced.outputs)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_cotangents, spec = tree_flatten(cotangents)
        if spec != traced.out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function. cotangents: {spec}, primal output: "
                f"{traced.out_spec}"
            )
        grads = traced.vjp(flat_cotangents, retain_graph, create_graph)
        return tree_unflatten(grads, traced.diff_spec)

    if has_aux:
        return traced.value(), vjp_fn, traced.aux
    return traced.value(), vjp_fn


def _check_float_outputs(outputs):
    for out in outputs:
        if not (out.is_floating_point() or out.is_complex()):
            raise RuntimeError(
                "vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                f"Tensor with dtype {out.dtype}"
            )


# ---------------------------------------------------------------------------------------
# jvp, linearize
# ---------------------------------------------------------------------------------------

def _check_tensor_list(values, api, argname):
    if not values:
        raise RuntimeError(f"{api}: Expected {argname} to contain at least one Tensor.")
    for value in values:
        if not isinstance(value, Tensor):
            raise RuntimeError(  # noqa: TRY004 - PyTorch's type
                f"{api}: Expected {argname} to only contain Tensors, got {type(value)}")


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product (forward mode),
    by the double-vjp trick. ``has_aux``: ``(output, jvp_out, aux)``."""
    if not isinstance(primals, tuple):
        raise RuntimeError(  # noqa: TRY004
            f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to call "
            "f(*primals)."
        )
    flat_primals, primals_spec = tree_flatten(primals)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(
            f"{_JVP}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {primals_spec} and tangents with structure {tangents_spec}"
        )
    _check_tensor_list(flat_primals, _JVP, "primals")
    _check_tensor_list(flat_tangents, _JVP, "tangents")
    for primal, tangent in zip(flat_primals, flat_tangents):
        if tuple(primal.shape) != tuple(tangent.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                "original Tensor, this is not supported. Tensor is of size "
                f"{list(primal.shape)} while the given forward gradient is of size "
                f"{list(tangent.shape)}."
            )
    traced = _Traced(func, primals, None, has_aux, _JVP)
    products = tree_unflatten(traced.jvp(flat_tangents, strict), traced.out_spec)
    if has_aux:
        return traced.value(), products, traced.aux
    return traced.value(), products


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product
    at ``primals``, reusing one traced graph for every call. As PyTorch's, ``func`` runs
    twice (once plainly for the output, once to trace), and jvp_fn treats the primals as
    constants: its results are differentiable in the tangents only."""
    output = func(*primals)
    with grad_mode.no_grad():  # as PyTorch's traced jvp_fn: primals are constants in it
        detached = tree_map(lambda p: p.detach() if isinstance(p, Tensor) else p, primals)
    traced = _Traced(func, detached, None, False, "linearize")
    flat_primals = tree_flatten(primals)[0]

    def jvp_fn(*tangents):
        flat_tangents, spec = tree_flatten(tangents)
        if spec != traced.diff_spec:
            raise RuntimeError(f"Expected the tangents {spec} to have the same argspec as the "
                               f"primals {traced.diff_spec}")
        for index, (tangent, primal) in enumerate(zip(flat_tangents, flat_primals)):
            for what in ("shape", "device", "dtype"):
                if getattr(tangent, what) != getattr(primal, what):
                    raise RuntimeError(
                        f"tangent:{index} with {what} {getattr(tangent, what)} in flattened "
                        f"pytree doesn't match the {what} {getattr(primal, what)} of the "
                        "corresponding primal."
                    )
        return tree_unflatten(traced.jvp(flat_tangents), traced.out_spec)

    return output, jvp_fn


# ---------------------------------------------------------------------------------------
# jacrev, jacfwd, hessian
# ---------------------------------------------------------------------------------------

def _error_if_complex(api, values, is_input):
    for index, value in enumerate(tree_flatten(values)[0]):
        if isinstance(value, Tensor) and value.is_complex():
            kind = "inputs" if is_input else "outputs"
            raise RuntimeError(f"{api}: Expected all {kind} to be real but received complex "
                               f"tensor at flattened input idx: {index}")


def _one_hot(reference, flat_index):
    from .._ops.creation import zeros

    basis = zeros(reference.numel(), dtype=reference.dtype, device=reference.device)
    basis[flat_index] = 1
    return basis.reshape(tuple(reference.shape))


def _assemble(traced, blocks):
    """blocks[i][k]: the Jacobian of output i with respect to differentiated leaf k, as
    (output shape + input shape). Nest as PyTorch: outputs outside, inputs inside."""
    per_output = [tree_unflatten(row, traced.diff_spec) for row in blocks]
    return tree_unflatten(per_output, traced.out_spec)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, one
    vector-Jacobian product per output element. Shape per (output, input) pair:
    ``output.shape + input.shape``."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapper(*args):
        from .. import stack
        from .._ops.creation import zeros

        _error_if_complex("jacrev", args, is_input=True)
        traced = _Traced(func, args, argnums, has_aux, "vjp(f, *primals)")
        _check_float_outputs(traced.outputs)
        _error_if_complex("jacrev", traced.outputs, is_input=False)
        blocks = []
        for i, out in enumerate(traced.outputs):
            rows = []
            for j in range(out.numel()):
                cotangents = [_one_hot(o, j) if n == i else o.new_zeros(tuple(o.shape))
                              for n, o in enumerate(traced.outputs)]
                rows.append(traced.vjp(cotangents))
            row_blocks = []
            for k, root in enumerate(traced.roots):
                shape = tuple(out.shape) + tuple(root.shape)
                if rows:
                    row_blocks.append(stack([row[k] for row in rows]).reshape(shape))
                else:
                    row_blocks.append(zeros(shape, dtype=root.dtype, device=root.device))
            blocks.append(row_blocks)
        jacobian = _assemble(traced, blocks)
        if has_aux:
            return jacobian, traced.aux
        return jacobian

    return _wraps(func, wrapper)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, one
    Jacobian-vector product per input element (forward mode). Same values and layout as
    :func:`jacrev`. Random ops inside raise under ``randomness='error'``, as PyTorch's
    (whose jacfwd is a vmap)."""

    def wrapper(*args):
        from .. import stack
        from .._ops.creation import zeros

        _check_randomness_arg(randomness)
        _error_if_complex("jacfwd", args, is_input=True)
        with _randomness(randomness):
            traced = _Traced(func, args, argnums, has_aux, _JVP)
        _error_if_complex("jacfwd", traced.outputs, is_input=False)
        columns = []  # columns[k][e]: J e for element e of leaf k, one tensor per output
        for k, root in enumerate(traced.roots):
            per_leaf = []
            for e in range(root.numel()):
                tangents = [_one_hot(r, e) if n == k else r.new_zeros(tuple(r.shape))
                            for n, r in enumerate(traced.roots)]
                per_leaf.append(traced.jvp(tangents))
            columns.append(per_leaf)
        blocks = []
        for i, out in enumerate(traced.outputs):
            row_blocks = []
            for k, root in enumerate(traced.roots):
                shape = tuple(out.shape) + tuple(root.shape)
                if columns[k]:
                    block = stack([col[i] for col in columns[k]], dim=-1)
                    row_blocks.append(block.reshape(shape))
                else:
                    row_blocks.append(zeros(shape, dtype=out.dtype, device=out.device))
            blocks.append(row_blocks)
        jacobian = _assemble(traced, blocks)
        if has_aux:
            return jacobian, traced.aux
        return jacobian

    return _wraps(func, wrapper)


def hessian(func, argnums=0):
    """The Hessian of a scalar ``func``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)
