"""The backward engine: one pass over the graph in dependency order, no recursion.

Discovery walks the graph with an explicit stack and counts, for every node, the edges
that lead into it. Execution pops ready nodes from a heap ordered by creation sequence
(newest first, as PyTorch does), so a node runs once, after every gradient flowing into
it has been summed. Gradients are reduced to each input's shape and dtype here, once,
instead of in every op's backward.
"""

from __future__ import annotations

import heapq
import itertools
import sys

import numpy as np

from .._tensor import Tensor, _make
from . import grad_mode
from .anomaly_mode import (  # noqa: F401 - detect_anomaly & co. re-exported
    _anomaly, _anomaly_check_nan, _check_anomaly, detect_anomaly, is_anomaly_enabled,
    set_detect_anomaly,
)
from .function import AccumulateGrad, _RemovableHandle, accumulator_of, refresh_view
# Running backward passes, innermost last: (task id, dependencies, needed, roots,
# accumulate). autograd.graph reads it: register_multi_grad_hook asks which nodes the
# running pass will execute.
_graph_tasks: list = []
_task_ids = itertools.count()
# Callbacks queued during each running pass (Variable._execution_engine.queue_callback),
# innermost last; they run when that pass has finished, as PyTorch's final callbacks.
_final_callbacks: list = []


def queue_callback(callback) -> None:
    """Run ``callback()`` once the running backward pass has finished."""
    if not _graph_tasks:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks[-1].append(callback)


def add_tensor_hook(tensor, hook, retain=False):
    """Attach ``hook(grad)`` to a tensor: on the leaf itself, or on the node that
    produces it (keyed by output number) for a non-leaf."""
    node = tensor.grad_fn
    if node is None:
        if tensor._hooks is None:
            tensor._hooks = []
        tensor._hooks.append(hook)
        return _RemovableHandle(tensor._hooks, hook)
    attr = "_retain_hooks" if retain else "_tensor_pre_hooks"
    table = getattr(node, attr)
    if table is None:
        table = {}
        setattr(node, attr, table)
    hooks = table.setdefault(tensor._output_nr, [])
    hooks.append(hook)
    return _RemovableHandle(hooks, hook)


def _make_grads(tensors, grad_tensors, is_grads_batched=False):
    grads = []
    for index, tensor in enumerate(tensors):
        given = None if grad_tensors is None else grad_tensors[index]
        if given is None:
            if not tensor._requires_grad:
                grads.append(None)
                continue
            if tensor._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if tensor._data.dtype.kind not in "fV":
                raise RuntimeError(
                    "grad can be implicitly created only for real scalar outputs but got "
                    f"{tensor.dtype}"
                )
            grads.append(_make(_ones_like_array(tensor._data)))
        else:
            if not isinstance(given, Tensor):
                from .._ops.creation import tensor as _tensor_fn

                given = _tensor_fn(given, dtype=tensor.dtype)
            if given.shape != tensor.shape and not is_grads_batched:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{index}] has a shape of {given.shape} and "
                    f"output[{index}] has a shape of {tensor.shape}."
                )
            grads.append(given)
    return grads


def _ones_like_array(array):
    from .._backend import array_module

    return array_module(array).ones_like(array)


def _root_edge(tensor, index):
    if not tensor._requires_grad:
        raise RuntimeError(
            f"element {index} of tensors does not require grad and does not have a grad_fn"
        )
    if tensor._base is not None and tensor._vc[0] != tensor._view_vc:
        refresh_view(tensor)
    if tensor.grad_fn is not None:
        return tensor.grad_fn, tensor._output_nr
    return accumulator_of(tensor), 0


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad``."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grad_tensors is None and grad_variables is not None:
        grad_tensors = grad_variables
    if isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) or _is_edge(inputs) else tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    grads = _make_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_root_edge(t, i) for i, t in enumerate(tensors)]
    targets = None
    if inputs is not None:
        targets = [_target_edge(t) for t in inputs]
    captured = _execute(roots, grads, retain_graph, create_graph, targets, accumulate=True)
    if inputs is not None:
        # A non-leaf named in ``inputs`` gets its gradient in ``.grad``, as PyTorch does.
        for tensor, g in zip(inputs, captured):
            if g is not None and not _is_edge(tensor) and tensor.grad_fn is not None:
                if not create_graph:
                    g = _make(g._data.copy())
                tensor._grad = g if tensor._grad is None else tensor._grad + g


def _target_edge(tensor):
    if _is_edge(tensor):  # an autograd.graph.GradientEdge
        return tensor[0], tensor[1]
    if not tensor._requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    if tensor.grad_fn is None:
        return accumulator_of(tensor), 0
    return tensor.grad_fn, tensor._output_nr


def _is_edge(value):
    return isinstance(value, tuple) and hasattr(value, "output_nr")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``."""
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    single_input = isinstance(inputs, Tensor) or _is_edge(inputs)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if single_input else tuple(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got {len(grad_outputs)} grad_outputs "
            f"and {len(outputs)} outputs"
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = []
    root_grads = []
    for index, (tensor, g) in enumerate(zip(outputs, grads)):
        if g is None and not tensor._requires_grad:
            raise RuntimeError(
                f"element {index} of tensors does not require grad and does not have a grad_fn"
            )
        roots.append(_root_edge(tensor, index))
        root_grads.append(g)
    targets = [_target_edge(t) for t in inputs]
    captured = _execute(roots, root_grads, retain_graph, create_graph, targets, accumulate=False)
    result = []
    for index, (tensor, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if materialize_grads:
                g = tensor.new_zeros(tensor.shape) if hasattr(tensor, "new_zeros") else None
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index} appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """is_grads_batched: the first dim of every grad_output indexes independent vector-
    Jacobian products; run one backward per index (ember has no vmap) and stack."""
    from .._ops.shape_copy import stack

    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    batch = grad_outputs[0].shape[0]
    per_index = []
    for i in range(batch):
        keep = True if i < batch - 1 else retain_graph
        per_index.append(grad(outputs, inputs, tuple(g[i] for g in grad_outputs),
                              retain_graph=keep, create_graph=create_graph,
                              allow_unused=allow_unused, materialize_grads=materialize_grads))
    result = []
    for j in range(len(per_index[0]) if per_index else 0):
        column = [p[j] for p in per_index]
        result.append(None if column[0] is None else stack(column))
    return tuple(result)


def _discover(roots, keep_order=True):
    """Count incoming edges per node; return (dependencies, nodes in discovery order, or
    None unless ``keep_order``)."""
    dependencies = {}
    order = [] if keep_order else None
    # A node other than a root is new exactly when it first gets a count, so the counts
    # double as the visited set; only the roots need a set of their own.
    root_nodes = set()
    stack = []
    for node, _ in roots:
        if node not in root_nodes:
            root_nodes.add(node)
            stack.append(node)
    get = dependencies.get
    while stack:
        node = stack.pop()
        if keep_order:
            order.append(node)
        for edge in node.next_functions:
            if edge is None:
                continue
            child = edge[0]
            count = get(child)
            if count is None:
                dependencies[child] = 1
                if child not in root_nodes:
                    stack.append(child)
            else:
                dependencies[child] = count + 1
    return dependencies, order


def _needed_nodes(order, target_nodes):
    """Nodes from which some target is reachable (only those need to run)."""
    needed = set(target_nodes)
    # Iterate to a fixed point in reverse discovery order; graphs are DAGs, and reverse
    # discovery order visits most children before parents, so this settles quickly.
    changed = True
    while changed:
        changed = False
        for node in reversed(order):
            if node in needed:
                continue
            for edge in node.next_functions:
                if edge is not None and edge[0] in needed:
                    needed.add(node)
                    changed = True
                    break
    return needed


def _num_outputs(node):
    return node._num_outputs


def _execute(roots, root_grads, retain_graph, create_graph, targets, accumulate):
    dependencies, order = _discover(roots, targets is not None)
    needed = None
    capture_at = {}
    captured = None
    target_nodes = ()
    if targets is not None:
        captured = [None] * len(targets)
        for index, (node, nr) in enumerate(targets):
            capture_at.setdefault((node, nr), []).append(index)
        target_nodes = {node for node, _ in targets}
        needed = _needed_nodes(order, target_nodes)

    buffers = {}
    for (node, nr), g in zip(roots, root_grads):
        if g is None:
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _num_outputs(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    heap = []
    pushed = set()
    for node, _ in roots:
        if dependencies.get(node, 0) == 0 and node not in pushed:
            pushed.add(node)
            heapq.heappush(heap, (-node._seq, id(node), node))

    previous_mode = grad_mode._grad_enabled[0]
    grad_mode._grad_enabled[0] = bool(create_graph)
    _graph_tasks.append((next(_task_ids), dependencies, needed, roots, accumulate))
    _final_callbacks.append([])
    heappop, heappush = heapq.heappop, heapq.heappush
    arrays_ok = not create_graph  # no graph is built: array backwards may run
    following = None  # the one node that became ready when no other was: skips the heap
    try:
        while True:
            if following is not None:
                node = following
                following = None
            elif heap:
                node = heappop(heap)[2]
            else:
                break
            grads = buffers.pop(node, None)
            leaf_node = type(node) is AccumulateGrad
            run = False
            if grads is not None:
                if node._tensor_pre_hooks and (needed is None or node in needed):
                    _run_tensor_pre_hooks(node._tensor_pre_hooks, grads)
                if node._retain_hooks:
                    for nr, hooks in node._retain_hooks.items():
                        for hook in hooks:
                            if grads[nr] is not None:
                                hook(grads[nr])
                if leaf_node and node.variable._hooks and (needed is None or node in needed):
                    # Leaf hooks run before the gradient is captured or accumulated, so
                    # they also shape what autograd.grad returns.
                    grads[0] = _run_leaf_hooks(node.variable, grads[0])
                if leaf_node and node.variable._custom_grad_dtype is not None:
                    grads[0] = _to_grad_dtype(node.variable, grads[0])
                if capture_at:
                    for nr in range(len(grads)):
                        for index in capture_at.get((node, nr), ()):
                            captured[index] = grads[nr]
                if len(grads) == 1:
                    run = grads[0] is not None
                else:
                    run = any(g is not None for g in grads)
            if needed is not None and node not in needed:
                run = False
            if leaf_node:
                if run and accumulate:
                    # Drop this loop's references to earlier nodes' results, so that
                    # _accumulate can tell a gradient nothing else holds (see _sole_owner).
                    input_grads = arrays = first = second = g = data = None
                    _accumulate(node, grads[0], create_graph)
                continue
            if run and target_nodes and not accumulate and node in target_nodes \
                    and _leads_nowhere(node, needed):
                run = False
            if not run:
                input_grads = None
            elif (arrays_ok and len(grads) == 1 and node._array_backward is not None
                  and not node._pre_hooks and not node._hooks and not _anomaly[0]
                  and grads[0]._data.dtype.kind == "f"):
                # No graph is being built and nothing observes this node: run the op's
                # formula on arrays (Function._array_backward), skipping one Tensor op
                # and its wrapping per term of the formula.
                arrays = node._array_backward(node, grads[0]._data)
                if arrays is NotImplemented:  # e.g. mixed dtypes: the Tensor formula
                    input_grads = _call_node(node, grads, retain_graph)
                else:
                    if len(arrays) == 2:  # binary ops: no comprehension frame
                        first, second = arrays
                        input_grads = (None if first is None else _make(first),
                                       None if second is None else _make(second))
                    else:
                        input_grads = [None if a is None else _make(a) for a in arrays]
                    if not retain_graph:
                        node._saved = None
            else:
                input_grads = _call_node(node, grads, retain_graph)
            input_meta = node._input_meta
            index = -1
            ready = None
            for edge in node.next_functions:
                index += 1
                if edge is None:
                    continue
                child, nr = edge
                if input_grads is not None:
                    g = input_grads[index]
                    if g is not None:
                        meta = input_meta[index]
                        data = getattr(g, "_data", None)
                        if data is None or data.shape != meta[0] or (
                                data.dtype is not meta[1] and data.dtype != meta[1]):
                            g = _fit_to_input(g, meta)
                        buf = buffers.get(child)
                        if buf is None:
                            if child._num_outputs == 1:
                                buffers[child] = [g]
                            else:
                                buf = buffers[child] = [None] * child._num_outputs
                                buf[nr] = g
                        else:
                            buf[nr] = g if buf[nr] is None else buf[nr] + g
                remaining = dependencies[child] - 1
                dependencies[child] = remaining
                if remaining == 0:
                    if ready is None:
                        ready = child
                    else:
                        heappush(heap, (-child._seq, id(child), child))
            if ready is not None:
                if heap:
                    heappush(heap, (-ready._seq, id(ready), ready))
                else:
                    following = ready  # a chain: the only ready node runs next
        callbacks = _final_callbacks[-1]
        for callback in callbacks:  # a callback may queue another: the list grows
            callback()
    finally:
        _graph_tasks.pop()
        _final_callbacks.pop()
        grad_mode._grad_enabled[0] = previous_mode
    return captured


def _run_tensor_pre_hooks(table, grads):
    for nr, hooks in table.items():
        for hook in list(hooks):
            if grads[nr] is not None:
                replaced = hook(grads[nr])
                if replaced is not None:
                    grads[nr] = replaced


def _leads_nowhere(node, needed):
    """A captured node whose children lead to no other target need not run."""
    for edge in node.next_functions:
        if edge is not None and edge[0] in needed:
            return False
    return True


def _call_node(node, grads, retain_graph):
    if node._pre_hooks:
        for hook in node._pre_hooks:
            replaced = hook(tuple(grads))
            if replaced is not None:
                grads = list(replaced)
    cls = type(node)
    if len(grads) > 1 and node._materialize:  # one output: it always has a gradient here
        for nr, g in enumerate(grads):
            if g is None:
                grads[nr] = _zeros_for_output(node, nr)
    result = cls.backward(node, *grads)
    if type(result) is not tuple:
        result = (result,)
    expected = len(node.next_functions)
    if len(result) < expected:
        if not cls._array_io:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {expected}, got {len(result)})"
            )
        result = result + (None,) * (expected - len(result))
    if _anomaly[0] and _anomaly_check_nan[0]:
        _check_anomaly(node, result)
    if node._hooks:
        for hook in node._hooks:
            replaced = hook(result, tuple(grads))
            if replaced is not None:
                result = tuple(replaced)
    if not retain_graph:
        node._saved = None
    return result


def _zeros_for_output(node, nr):
    meta = getattr(node, "_output_meta", None)
    if meta is None or meta[nr] is None:
        return None
    shape, np_dtype, array_type = meta[nr]
    import numpy as np

    xp = np if array_type is np.ndarray else __import__("cupy")
    return _make(xp.zeros(shape, np_dtype))


def _fit_to_input(g, meta):
    shape, np_dtype, _ = meta
    if not isinstance(g, Tensor):
        raise TypeError(f"backward returned {type(g).__name__}; expected a Tensor or None")
    if g._data.shape != shape:
        g = _sum_to(g, shape)
    if g._data.dtype != np_dtype:
        from .._backend import from_numpy_dtype

        if g._data.dtype.kind == "c" and np_dtype.kind != "c":
            g = g.real  # a real input of a complex op: PyTorch keeps the real part
        g = g.to(from_numpy_dtype(np_dtype))
    return g


def _sum_to(g, shape):
    """Reduce a broadcast gradient back to ``shape`` (leading dims, then size-1 dims)."""
    lead = g.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"Function backward returned an invalid gradient: got {list(g.shape)} but "
            f"expected shape compatible with {list(shape)}"
        )
    dims = list(range(lead))
    for i, size in enumerate(shape):
        if size == 1 and g._data.shape[lead + i] != 1:
            dims.append(lead + i)
    if dims:
        g = g.sum(dim=tuple(dims), keepdim=True)
    if lead:
        g = g.reshape(shape)
    if g._data.shape != shape:
        raise RuntimeError(
            f"Function backward returned an invalid gradient: got {list(g.shape)} but "
            f"expected shape compatible with {list(shape)}"
        )
    return g


def _run_leaf_hooks(variable, g):
    for hook in list(variable._hooks):
        replaced = hook(g)
        if replaced is not None:
            g = replaced
    return g


def _sole_owner(g):
    """Whether ``g`` (a gradient arriving at a leaf, called from _accumulate) is the only
    holder of its array: an array owning its memory, or a view spanning all of an owner's
    memory (a reshape of a fresh result, as conv weight gradients are), referenced only by
    ``g``, and ``g`` only by the engine's buffer list and the two calls' arguments.
    Reference counts are exact, so any other holder (another leaf's buffer, a hook, the
    caller's gradient, a view) makes this False and the gradient is copied: a pass over
    the gradient on the CPU, a kernel launch per leaf per step on a GPU."""
    owner = _memory_owner(g._data)
    if owner is None:
        return False
    # g: the buffer list, _accumulate's argument, this argument, getrefcount's argument
    # g._data: g's slot and getrefcount's argument
    if sys.getrefcount(g) > 4 or sys.getrefcount(g._data) > 2:
        return False
    # a view's owner: the view's base slot, ``owner`` and getrefcount's argument
    return owner is _OWNS_MEMORY or sys.getrefcount(owner) <= 3


_OWNS_MEMORY = object()


def _memory_owner(data):
    """``_OWNS_MEMORY`` when ``data`` (NumPy or CuPy) owns its memory; the array owning it
    when ``data`` is a contiguous view spanning all of it; else None. Read-only NumPy
    arrays, views CuPy makes over a pointer with no base (``as_strided``, ``memptr=``;
    ``storage_root`` knows them), and memory CuPy does not own (DLPack,
    ``__cuda_array_interface__``) never qualify, nor do meta arrays."""
    if type(data) is np.ndarray:
        if not data.flags.writeable:
            return None
        base = data.base
        if base is None:
            return _OWNS_MEMORY
        if type(base) is not np.ndarray or base.base is not None:
            return None
    else:
        from .._backend.device import cupy_module
        from .._backend.strided import storage_root

        cp = cupy_module()
        if cp is None or not isinstance(data, cp.ndarray):
            return None
        base = storage_root(data)
        mem = getattr(base.data, "mem", None)  # the CuPy double's pointers have no ``mem``
        if mem is not None and type(mem).__name__ == "UnownedMemory":
            return None
        if base is data:
            return _OWNS_MEMORY
        if data.base is not base:
            return None
    if base.nbytes != data.nbytes or not (data.flags.c_contiguous or data.flags.f_contiguous):
        return None
    return base


def _obey_layout(data, like):
    """PyTorch's AccumulateGrad layout contract for a leaf's first .grad: the leaf's own
    strides when it is dense and non-overlapping (channels-last, transposed), else
    contiguous. ``data`` itself when it already complies (the common case: both C-order)."""
    if data.strides == like.strides:
        return data
    if _dense(like):
        xp = np if isinstance(data, np.ndarray) else __import__("cupy")
        out = xp.empty_like(like, dtype=data.dtype)  # order "K": like's strides
        out[...] = data
        return out
    return data if data.flags.c_contiguous else data.copy()


def _dense(array):
    """Whether ``array``'s elements tile its memory span exactly, in some order of axes."""
    expected = array.itemsize
    for stride, size in sorted((abs(st), sz) for st, sz in zip(array.strides, array.shape)
                               if sz != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _to_grad_dtype(variable, g):
    """A leaf's gradient in the dtype its ``grad_dtype`` names (``"any"``: as it came)."""
    wanted = variable._custom_grad_dtype
    if g is None or isinstance(wanted, str) or g.dtype == wanted:
        return g
    return g.to(wanted)


def _accumulate(node, g, create_graph):
    variable = node.variable
    if variable.grad is None:
        if create_graph:
            variable.grad = g
        else:
            # .grad is later updated in place, so it must own its array: the same gradient
            # tensor may reach several leaves (AddBackward passes one tensor to both) or
            # be held elsewhere. A fresh array that nothing else holds is adopted as is.
            data = g._data
            laid = _obey_layout(data, variable._data)
            if laid is not data:
                variable.grad = _make(laid)
            else:
                del data, laid  # _sole_owner counts references: this frame must hold none
                variable.grad = _make(g._data if _sole_owner(g) else g._data.copy(order="K"))
    elif create_graph or variable.grad._requires_grad:
        variable.grad = variable.grad + g
    else:
        existing = variable.grad._data
        if existing.shape == g._data.shape and (
                existing.dtype == g._data.dtype or variable._custom_grad_dtype is not None):
            existing += g._data  # grad_dtype = None: the stored grad keeps its dtype
        else:
            variable.grad = variable.grad + g
    post = variable.__dict__.get("_post_acc_hooks")
    if post:
        for hook in post:
            hook(variable)
