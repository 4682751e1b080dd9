"""One update for a whole parameter group: flat buffers with per-parameter views.

Every optimizer here except LBFGS is elementwise: its update is the same array expression
for each parameter, with a few per-parameter scalars ('step', NAdam's 'mu_product', ASGD's
'eta'/'mu') that advance in lockstep. So an optimizer writes its update once,
``_update(param, grad, state, group)``, over tensors, and this module runs it either

- on flat 1-D buffers holding the group's small parameters (parameters, gradients and
  every state tensor concatenated; scalars as one vector with an element per parameter),
  so 100 biases cost a dozen array ops instead of a dozen per parameter; and
- per parameter, on the parameter and its own state: large parameters (their ops already
  amortise the per-op overhead, and on cache-sized pieces they run faster than on one
  long buffer), and every parameter when the small ones cannot share buffers (one param,
  mixed dtypes/devices, per-parameter scalars out of step).

The per-parameter state PyTorch's ``state_dict`` layout needs is kept as views into the
flat buffers, so ``optimizer.state[p]['exp_avg']`` always has ``p``'s shape and the values
are shared. A state_dict load (or any other replacement of a state tensor) is detected by
identity and the buffers are rebuilt from the new tensors.
"""

from __future__ import annotations

import ember
from ember._ops._flat_copy import flat_gather_, flat_scatter_

from ._common import run_closure
from .optimizer import Optimizer

# flat pays while per-op overhead dominates. Measured (Adam, SGD; 2-core CPU): parameters
# of 300-3000 elements run 4-20x faster flat; at 10k-65k elements the per-parameter ops,
# whose temporaries stay in cache, are as fast or faster (Adam 1.3-3x slower flat)
_FLAT_NUMEL_LIMIT = 4096
# On a GPU every array op is a kernel launch (10-30 us of host time with CuPy on an H200
# machine) and copies run at terabytes a second, so one flat update pays up to parameters
# of many millions of elements: Adam's per-parameter updates were 16% of a Transformer
# training step there.
_FLAT_NUMEL_LIMIT_CUDA = 1 << 24


class _FlatGroup:
    """Flat buffers over a fixed list of parameters, and the per-parameter views."""

    def __init__(self, params, states, param_keys, scalar_keys):
        self.params = params
        self.shapes = [p.shape for p in params]
        bounds = []
        offset = 0
        for p in params:
            bounds.append((offset, offset + p.numel()))
            offset += p.numel()
        self.bounds = bounds
        self.param = ember.cat([p.detach().reshape(-1) for p in params])
        self.grad = ember.empty_like(self.param)
        self.state: dict = {}
        self.views: dict = {}
        for key in param_keys:
            self.adopt(key, ember.cat([s[key].reshape(-1) for s in states]), states)
        for key in scalar_keys:
            flat = ember.cat([s[key].reshape(1) for s in states])
            self.state[key] = flat
            self.views[key] = [flat[i] for i in range(len(params))]
            for s, view in zip(states, self.views[key]):
                s[key] = view

    def _views(self, flat):
        return [flat[a:b].view(shape) for (a, b), shape in zip(self.bounds, self.shapes)]

    def adopt(self, key, flat, states) -> None:
        """Make ``flat`` the buffer of a param-shaped state; give each param its view."""
        self.state[key] = flat
        self.views[key] = self._views(flat)
        for s, view in zip(states, self.views[key]):
            s[key] = view

    def still_valid(self, params, states) -> bool:
        if len(params) != len(self.params):
            return False
        for p, q in zip(params, self.params):
            if p is not q:
                return False
        for i, s in enumerate(states):
            if len(s) != len(self.views):
                return False
            for key, views in self.views.items():
                if s.get(key) is not views[i]:
                    return False
        return True


def _scalar_keys(state: dict) -> list:
    return [k for k, v in state.items() if isinstance(v, ember.Tensor) and v.dim() == 0]


def _flattenable(params, states) -> bool:
    first = params[0]
    if len(params) < 2 or len(set(params)) != len(params):
        return False
    for p in params:
        if p.dtype != first.dtype or p.device != first.device or not p.is_floating_point():
            return False
        if p.dim() == 0:  # its state would look like the per-parameter scalars
            return False
        if "_spec" in p.__dict__:  # a DTensor: its ops go through its own dispatch
            return False
    keys = list(states[0])
    for s in states:
        if list(s) != keys:
            return False
        for key in keys:
            value = s[key]
            if not isinstance(value, ember.Tensor) or value.dtype != states[0][key].dtype:
                return False
    for key in _scalar_keys(states[0]):
        reference = states[0][key].item()
        if any(s[key].item() != reference for s in states):
            return False
    return True


class ElementwiseOptimizer(Optimizer):
    """An optimizer defined by ``_init_state(p, group)`` and an elementwise
    ``_update(param, grad, state, group)``; ``step`` runs it flat per group when it can."""

    # whether the flat path saves work (an optimizer may opt out)
    _flat_pays = True

    def _init_state(self, p, group) -> dict:
        raise NotImplementedError

    def _update(self, param, grad, state: dict, group) -> None:
        raise NotImplementedError

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = run_closure(closure)
        with ember.no_grad():
            for index, group in enumerate(self.param_groups):
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    self._step_group(index, group, params)
        return loss

    def _states_for(self, params, group) -> list:
        states = []
        for p in params:
            state = self.state.get(p)
            if not state:
                initial = self._init_state(p, group)
                if not initial:
                    states.append({})
                    continue
                state = self.state[p]
                state.update(initial)
            states.append(state)
        return states

    def _step_group(self, index, group, params) -> None:
        states = self._states_for(params, group)
        small, small_states, large = params, states, []
        if self._flat_pays:
            small, small_states = [], []
            for p, state in zip(params, states):
                limit = _FLAT_NUMEL_LIMIT_CUDA if p.is_cuda else _FLAT_NUMEL_LIMIT
                if p.numel() <= limit:
                    small.append(p)
                    small_states.append(state)
                else:
                    large.append((p, state))
        cache = self.__dict__.setdefault("_flat_groups", {})
        flat = cache.get(index)
        if flat is None or not flat.still_valid(small, small_states):
            flat = None
            if self._flat_pays and small and _flattenable(small, small_states):
                flat = _FlatGroup(small, small_states,
                                  [k for k in small_states[0] if small_states[0][k].dim()],
                                  _scalar_keys(small_states[0]))
            cache[index] = flat
        if flat is None:
            large = list(zip(params, states))
        entries = len(self.state)
        for p, state in large:
            if p.is_complex():
                self._update_complex(p, state if state else self._lazy_state(p), group)
                continue
            self._update(p, p.grad, state if state else self._lazy_state(p), group)
        if flat is not None:
            self._step_flat(flat, small, group)
        if len(self.state) != entries and large and flat is not None:
            self._order_new_states(params, entries)

    def _order_new_states(self, params, entries) -> None:
        """State entries created lazily this step (SGD's momentum buffers) in parameter
        order, as PyTorch creates them: the large params were updated before the flat."""
        new = list(self.state)[entries:]
        fresh = set(new)
        for p in params:
            if p in fresh:
                self.state[p] = self.state.pop(p)

    def _step_flat(self, flat, params, group) -> None:
        # one backend call gathers each side, one slice assignment per param scatters:
        # a copy_ per tensor here cost more than the update for groups of small params
        flat_gather_(flat.param, params)
        flat_gather_(flat.grad, [p.grad for p in params])
        known = set(flat.state)
        self._update(flat.param, flat.grad, flat.state, group)
        for key in [k for k in flat.state if k not in known]:
            flat.adopt(key, flat.state[key], [self.state[p] for p in params])
        flat_scatter_(params, flat.param, flat.bounds)

    def _update_complex(self, p, state, group) -> None:
        """A complex parameter updates as its (re, im) pairs, as PyTorch's optimizers view
        it (view_as_real): the complex state tensors are updated in place through views."""
        pairs = {k: ember.view_as_real(v) if isinstance(v, ember.Tensor) and v.is_complex()
                 else v for k, v in state.items()}
        self._update(ember.view_as_real(p), ember.view_as_real(p.grad), pairs, group)
        for key, value in pairs.items():  # state created during the update (SGD momentum)
            if key not in state:
                state[key] = ember.view_as_complex(value)

    def _lazy_state(self, p):
        """The state dict of a param whose state starts empty (SGD's momentum buffer)."""
        return _LazyState(self.state, p)


class _LazyState(dict):
    """An empty state that enters ``optimizer.state`` only when a key is first set, as
    PyTorch's SGD leaves no entry for parameters without momentum."""

    def __init__(self, states, p):
        super().__init__()
        self._states = states
        self._param = p

    def __setitem__(self, key, value):
        self._states[self._param][key] = value
        super().__setitem__(key, value)
