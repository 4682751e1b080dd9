"""``torch.library.opcheck``: test a custom operator's registrations the way PyTorch's
opcheck does (schema, autograd registration, fake implementation, forward/backward)."""

from __future__ import annotations

from ._schema import _tensor_type

# -- opcheck -------------------------------------------------------------------------------

class OpCheckError(Exception):
    pass


def opcheck(op, args: tuple, kwargs: dict | None = None, *,
            test_utils=("test_schema", "test_autograd_registration", "test_faketensor",
                        "test_aot_dispatch_dynamic"),
            raise_exception: bool = True, atol=None, rtol=None) -> dict[str, str]:
    """Check a custom operator the way PyTorch's opcheck does: schema (no undeclared
    mutation, no aliased outputs), autograd registration, the fake implementation's
    shapes/dtypes against the real outputs, and a forward/backward run."""
    from . import _operator

    operator = _operator(op)
    kwargs = kwargs or {}
    tests = {"test_schema": _test_schema, "test_autograd_registration": _test_autograd_reg,
             "test_faketensor": _test_faketensor,
             "test_aot_dispatch_dynamic": _test_forward_backward}
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    results = {}
    for name in test_utils:
        try:
            tests[name](operator, args, kwargs)
            results[name] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e} (scroll up for "
                                   "stack trace)") from e
            results[name] = e
    return results


def _clone_args(args):
    tensor = _tensor_type()
    return [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, tensor) else a
            for a in args]


def _test_schema(operator, args, kwargs) -> None:
    import ember

    args = _clone_args(args)
    values = operator.bind(tuple(args), kwargs)
    tensor = _tensor_type()
    versions = [v._version if isinstance(v, tensor) else None for v in values]
    with ember.no_grad():
        operator.run_kernel(values)
    for arg, value, before in zip(operator.schema.arguments, values, versions):
        if before is not None and value._version != before and not arg.is_mutable:
            raise RuntimeError(f"Argument {arg.name} is not defined as mutable but was mutated")


def _test_autograd_reg(operator, args, kwargs) -> None:
    return None  # every custom op has an autograd kernel (possibly the raising one)


def _test_faketensor(operator, args, kwargs) -> None:
    if not operator.schema.returns:
        return  # nothing to describe: PyTorch generates the fake of an op returning ()
    if operator.fake is None:
        raise RuntimeError(
            f"There was no fake impl registered for <CustomOpDef({operator.qualname})>. This "
            "is necessary for torch.compile/export/fx tracing to work. Please use "
            f"`{operator.name}.register_fake` to add an fake impl.")
    import ember

    with ember.no_grad():
        real = operator.call(*_clone_args(args), **kwargs)
        fake = operator.fake(*_clone_args(args), **kwargs)
    reals = real if isinstance(real, (list, tuple)) else (real,)
    fakes = fake if isinstance(fake, (list, tuple)) else (fake,)
    if len(reals) != len(fakes):
        raise RuntimeError(f"fake implementation returned {len(fakes)} outputs, the operator "
                           f"{len(reals)}")
    for r, f in zip(reals, fakes):
        problem = _metadata_mismatch(r, f)
        if problem is not None:
            raise RuntimeError(
                f"When comparing the output of {operator.overload} on FakeTensor and concrete "
                f"Tensors, found mismatched tensor metadata: {problem}")


def _metadata_mismatch(real, fake) -> str | None:
    """PyTorch's compare_tensor_meta: shape, dtype, device, then the strides of the dims
    longer than 1."""
    if tuple(real.shape) != tuple(fake.shape):
        return f"Shapes {real.shape} and {fake.shape} are not equal!"
    if real.dtype != fake.dtype:
        return f"Dtypes {real.dtype} and {fake.dtype} are not equal!"
    if real.device != fake.device:
        return f"Devices {real.device} and {fake.device} are not equal!"
    for index, size in enumerate(real.shape):
        if size > 1 and real.stride()[index] != fake.stride()[index]:
            return (f"Stride mismatch! Strides are {real.stride()} and {fake.stride()} "
                    f"(mismatched at {index})!")
    return None


def _test_forward_backward(operator, args, kwargs) -> None:
    import ember

    tensor = _tensor_type()
    args = _clone_args(args)
    output = operator.call(*args, **kwargs)
    outputs = [o for o in (output if isinstance(output, (list, tuple)) else (output,))
               if isinstance(o, tensor) and o.requires_grad]
    inputs = [a for a in args if isinstance(a, tensor) and a.requires_grad]
    if outputs and inputs:
        grads = ember.autograd.grad(outputs, inputs, [ember.ones_like(o) for o in outputs],
                                    allow_unused=True)
        for grad, arg in zip(grads, inputs):
            if grad is not None and tuple(grad.shape) != tuple(arg.shape):
                raise RuntimeError(f"gradient of shape {tuple(grad.shape)} for an input of "
                                   f"shape {tuple(arg.shape)}")
