"""ember.func: torch.func's function transforms (vmap, grad, jacrev, ...).

vmap lives in ``_vmap``, the differentiating transforms in ``_eager_transforms`` and the
module helpers in ``_functional_call``.
"""

from ._eager_transforms import (
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    vjp,
)
from ._functional_call import (
    functional_call,
    replace_all_batch_norm_modules_,
    stack_module_state,
)
from ._rearrange import rearrange
from ._vmap import vmap

__all__ = [
    "debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value", "hessian",
    "jacfwd", "jacrev", "jvp", "linearize", "rearrange", "replace_all_batch_norm_modules_",
    "stack_module_state", "vjp", "vmap",
]


def debug_unwrap(tensor, *, recurse=True):
    """PyTorch unwraps its transform wrappers (BatchedTensor, GradTrackingTensor) here;
    ember's transforms hand plain tensors to the function, so there is nothing to peel."""
    return tensor


def functionalize(func, *, remove="mutations"):
    """``torch.func.functionalize``: PyTorch rewrites mutations into out-of-place ops for
    its tracers; eager ember has no tracer to serve, so the function runs as it is (same
    results, inputs mutated as the original would mutate them)."""
    import functools

    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for "
            f"remove={remove}."
        )

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapped
