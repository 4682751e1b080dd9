"""autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp, as PyTorch's.

Everything is reverse mode through the engine. Forward-mode products (jvp, hvp) use the
double-backward trick: the gradient of a vector-Jacobian product with respect to its
(dummy, zero) upstream vector is the Jacobian-vector product. ``vectorize`` is accepted
and ignored: the Jacobian is built one output element at a time.
"""

from __future__ import annotations

from .._tensor import Tensor
from . import grad_mode
from .engine import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(value, arg_name, fn_name):
    if isinstance(value, Tensor):
        return False, (value,)
    if not isinstance(value, tuple):
        raise TypeError(
            f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
            f"but the given {arg_name} has type {type(value)}."
        )
    for index, element in enumerate(value):
        if not isinstance(element, Tensor):
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the value at index {index} has type {type(element)}."
            )
    return True, value


def _tuple_postprocess(result, to_unpack):
    """Undo _as_tuple: unwrap one level (or two, for nested results) where the user
    passed a bare Tensor."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            result = tuple(r[0] for r in result)
        if not to_unpack[0]:
            result = result[0]
    elif not to_unpack:
        result = result[0]
    return result


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh leaves the function is differentiated at; with create_graph, a view keeps
    the link to the user's tensors so higher-order graphs reach them."""
    result = []
    for tensor in inputs:
        if create_graph and tensor.requires_grad:
            result.append(tensor.view_as(tensor) if hasattr(tensor, "view_as")
                          else tensor.view(tuple(tensor.shape)))
        else:
            result.append(tensor.detach().requires_grad_(need_graph))
    return tuple(result)


def _grad_postprocess(values, create_graph):
    if isinstance(values[0], Tensor):
        if not create_graph:
            return tuple(v.detach() for v in values)
        return values
    return tuple(_grad_postprocess(v, create_graph) for v in values)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.shape != el_other.shape:
            prefix = "" if not is_other_tuple else f"Entry {index} in "
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {el_other.shape} but got {el_v.shape}."
            )


def _check_requires_grad(values, input_type, strict):
    if not strict:
        return
    if input_type not in ("outputs", "grad_inputs", "jacobian", "hessian"):
        raise RuntimeError("Invalid input_type to _check_requires_grad")
    for index, value in enumerate(values):
        if value is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {index}. "
                "This is not allowed in strict mode."
            )
        if not value.requires_grad:
            if input_type == "hessian":
                raise RuntimeError(
                    f"The hessian of the user-provided function with respect to input {index}"
                    " is independent of the input. This is not allowed in strict mode. You "
                    "should ensure that your function is thrice differentiable and that the "
                    "hessian depends on the inputs."
                )
            if input_type == "jacobian":
                raise RuntimeError(
                    "While computing the hessian, found that the jacobian of the "
                    f"user-provided function with respect to input {index} is independent of "
                    "the input. This is not allowed in strict mode. You should ensure that "
                    "your function is twice differentiable and that the jacobian depends on "
                    "the inputs (this would be violated by a linear function for example)."
                )
            if input_type == "grad_inputs":
                raise RuntimeError(
                    f"The gradient with respect to input {index} is independent of the inputs "
                    "of the user-provided function. This is not allowed in strict mode."
                )
            raise RuntimeError(
                f"Output {index} of the user-provided function does not require gradients. "
                "The outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."
            )


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for unreached inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    live_outputs, live_grads = [], []
    for out, grad_out in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            live_outputs.append(out)
            live_grads.append(grad_out)
    if not live_outputs:
        return (None,) * len(inputs)
    return _grad(live_outputs, inputs, live_grads, allow_unused=True,
                 create_graph=create_graph, retain_graph=retain_graph)


def _zeros_like(tensor, requires_grad=False):
    from .._ops.creation import zeros_like

    result = zeros_like(tensor)
    if requires_grad:
        result.requires_grad_(True)
    return result


_STRICT_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {}. This is "
            "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    result = []
    for index, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_MESSAGES[stage].format(index))
            g = _zeros_like(ref)
        result.append(g)
    return tuple(result)


def _call(func, inputs, fn_name):
    outputs = func(*inputs)
    return _as_tuple(outputs, "outputs of the user-provided function", fn_name)


def _prepare_v(v, inputs, is_inputs_tuple, create_graph, fn_name):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph, need_graph=False)
        _validate_v(v, inputs, is_inputs_tuple)
        return v
    if len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError(
            "The vector v can only be None if the input to the user-provided function is a "
            "single Tensor with a single element."
        )
    return None


def _results(outputs, is_outputs_tuple, product, is_product_tuple, create_graph):
    """Every product returns (func's outputs, the product), detached unless create_graph,
    each unpacked when its caller gave a single Tensor."""
    outputs = _grad_postprocess(outputs, create_graph)
    product = _grad_postprocess(product, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(product, is_product_tuple))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _grad_preprocess(v, create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single "
                "Tensor with a single element."
            )
        enable = create_graph if not grad_mode.is_grad_enabled() else True
        with grad_mode.set_grad_enabled(enable):
            grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
            vjp_result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    return _results(outputs, is_outputs_tuple, vjp_result, is_inputs_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp")
        is_outputs_tuple, outputs = _call(func, inputs, "jvp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        # The dummy upstream vector must require grad so J^T u stays a function of u.
        grad_outputs = tuple(_zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
        if create_graph:
            with grad_mode.enable_grad():
                grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=True)
        else:
            grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=False)
        jvp_result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    return _results(outputs, is_outputs_tuple, jvp_result, is_outputs_tuple, create_graph)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one input and one output a Tensor of
    shape ``output.shape + input.shape``; tuples of those for tuples of inputs/outputs."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has a single output, use "reverse-mode" (this is the default); if it '
            'has a single input, use "forward-mode".'
        )
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(
            "torch.autograd.functional.jacobian: `strategy=\"forward-mode\"` requires "
            "`vectorize=True`."
        )
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian")
        _check_requires_grad(outputs, "outputs", strict=strict)

        jacobian_rows = []
        for out_index, out in enumerate(outputs):
            per_input = [[] for _ in inputs]
            flat_out = out.reshape(-1)
            for j in range(flat_out.shape[0]):  # one backward per output element
                row = _autograd_grad((flat_out[j],), inputs, retain_graph=True,
                                     create_graph=create_graph)
                for in_index, (g, inp) in enumerate(zip(row, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {out_index} of the user-provided function is "
                                f"independent of input {in_index}. This is not allowed in "
                                "strict mode."
                            )
                        g = _zeros_like(inp)
                    per_input[in_index].append(g)
            blocks = []
            for in_index, inp in enumerate(inputs):
                shape = tuple(out.shape) + tuple(inp.shape)
                if per_input[in_index]:
                    from .. import stack  # the ops layer sits above autograd: import late

                    block = stack(per_input[in_index]).reshape(shape)
                else:
                    from .._ops.creation import zeros

                    block = zeros(shape, dtype=inp.dtype, device=inp.device)
                blocks.append(block)
            jacobian_rows.append(tuple(blocks))
        result = _grad_postprocess(tuple(jacobian_rows), create_graph)
    return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode".'
        )

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function",
                                        "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    result = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict)
    return _tuple_postprocess(result, (is_inputs_tuple, is_inputs_tuple))


def _scalar_output(func, inputs, fn_name, strict):
    is_outputs_tuple, outputs = _call(func, inputs, fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )
    return outputs


def _scalar_gradient(func, inputs, v, create_graph, strict, fn_name):
    """vhp and hvp start alike: checked inputs and v, the scalar output, and its gradient
    kept differentiable for the second backward. Call under enable_grad."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
    v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, fn_name)
    outputs = _scalar_output(func, inputs, fn_name, strict)
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict=strict)
    return is_inputs_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs, v, outputs, jac = _scalar_gradient(
            func, inputs, v, create_graph, strict, "vhp")
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        vhp_result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    return _results(outputs, False, vhp_result, is_inputs_tuple, create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs, v, outputs, jac = _scalar_gradient(
            func, inputs, v, create_graph, strict, "hvp")
        grad_jac = tuple(_zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
        grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        hvp_result = _fill_in_zeros(grad_res, inputs, strict, create_graph,
                                    "double_back_trick")
    return _results(outputs, False, hvp_result, is_inputs_tuple, create_graph)
