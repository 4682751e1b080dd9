"""``add_graph``: a model's op graph as a TensorFlow GraphDef for TensorBoard.

One forward run with the inputs requiring grad records ember's autograd graph; each
recorded op (a grad_fn node: ``AddmmBackward0`` is the forward ``Addmm``) becomes a node,
parameters and inputs become the graph's sources, and forward hooks give each op the
scope of the innermost module that ran it (``Net/Linear[fc1]/Addmm``), as PyTorch's graph
groups ops by module.
"""

from __future__ import annotations


def _next_nodes(node):
    for entry in getattr(node, "next_functions", ()) or ():
        if entry is None:
            continue
        child = entry[0] if isinstance(entry, tuple) else entry
        if child is not None:
            yield child


def _scope_hooks(model, scopes):
    """Forward hooks that claim every not-yet-claimed op behind a module's outputs for
    that module (inner modules finish first, so they claim their own ops)."""
    handles = []
    names = {module: name for name, module in model.named_modules()}

    def path_of(module):
        name = names[module]
        root = type(model).__name__
        if not name:
            return root
        parts, current, path = name.split("."), model, [root]
        for part in parts:
            current = getattr(current, part) if not part.isdigit() else current[int(part)]
            path.append(f"{type(current).__name__}[{part}]")
        return "/".join(path)

    def hook(module, inputs, output):
        scope = path_of(module)
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        stack = [t.grad_fn for t in outputs if getattr(t, "grad_fn", None) is not None]
        stop = {id(t.grad_fn) for t in inputs if getattr(t, "grad_fn", None) is not None}
        while stack:
            node = stack.pop()
            if id(node) in scopes or id(node) in stop:
                continue
            scopes[id(node)] = scope
            stack.extend(_next_nodes(node))

    for module in names:
        handles.append(module.register_forward_hook(hook))
    return handles


def graph(model, args, verbose=False):
    """(GraphDef, RunMetadata) of ``model(*args)``."""
    from tensorboard.compat.proto.attr_value_pb2 import AttrValue
    from tensorboard.compat.proto.config_pb2 import RunMetadata
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.node_def_pb2 import NodeDef
    from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.compat.proto.versions_pb2 import VersionDef

    import ember

    args = args if isinstance(args, (tuple, list)) else (args,)
    inputs = [a.detach().requires_grad_(a.is_floating_point()) if isinstance(a, ember.Tensor)
              else a for a in args]
    scopes: dict = {}
    handles = _scope_hooks(model, scopes)
    try:
        with ember.enable_grad():
            outputs = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    root = type(model).__name__

    def shape_attr(shape):
        dims = [TensorShapeProto.Dim(size=int(d)) for d in shape]
        return {"_output_shapes": AttrValue(list=AttrValue.ListValue(
            shape=[TensorShapeProto(dim=dims)]))}

    nodes, names = [], {}
    parameters = {id(p): name for name, p in model.named_parameters()}
    for index, tensor in enumerate(inputs):
        if isinstance(tensor, ember.Tensor):
            name = f"input/input.{index + 1}"
            names[id(tensor)] = name
            nodes.append(NodeDef(name=name, op="IO Node", attr=shape_attr(tensor.shape)))

    def add_node(node):
        """The node of a grad_fn whose inputs are all named already."""
        variable = getattr(node, "variable", None)
        if variable is not None:  # a leaf: an input or a parameter
            if id(variable) in names:
                return names[id(variable)]
            label = parameters.get(id(variable), f"constant.{len(nodes)}")
            name = f"{root}/{label.replace('.', '/')}"
            nodes.append(NodeDef(name=name, op="prim::GetAttr",
                                 attr=shape_attr(variable.shape)))
            return name
        op = type(node).__name__.removesuffix("Backward0").removesuffix("Backward1")
        name = f"{scopes.get(id(node), root)}/{op}.{len(nodes)}"
        nodes.append(NodeDef(name=name, op=op,
                             input=[names[id(child)] for child in _next_nodes(node)]))
        return name

    def name_of(top):
        """Name every node behind ``top``, inputs first (iterative: graphs can be deep)."""
        stack = [(top, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in names:
                continue
            if expanded:
                names[id(node)] = add_node(node)
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in _next_nodes(node)
                         if id(child) not in names)
        return names[id(top)]

    for index, tensor in enumerate(outputs):
        if isinstance(tensor, ember.Tensor) and tensor.grad_fn is not None:
            source = name_of(tensor.grad_fn)
            nodes.append(NodeDef(name=f"output/output.{index + 1}", op="IO Node",
                                 input=[source], attr=shape_attr(tensor.shape)))
    if verbose:
        for node in nodes:
            print(node.name, node.op, list(node.input))
    stats = RunMetadata(step_stats=StepStats(dev_stats=[DeviceStepStats(
        device="/device:CPU:0")]))
    return GraphDef(node=nodes, versions=VersionDef(producer=22)), stats
