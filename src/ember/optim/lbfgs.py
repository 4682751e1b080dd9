"""L-BFGS with an optional strong-Wolfe line search.

The algorithm is Nocedal & Wright's (two-loop recursion, bracketing then zooming line search
with cubic interpolation, as in minFunc). Every floating-point expression is evaluated in the
same order as PyTorch's implementation, because users compare iterates between the two and a
rounding difference grows quickly on ill-conditioned problems. The per-parameter state keeps
PyTorch's key names so that state dicts load in either library.
"""

from __future__ import annotations

import ember

from ._common import check_common
from ._inplace import copy_, dot, flat_cat
from .optimizer import Optimizer

__all__ = ["LBFGS"]

# What one step() leaves behind for the next one, under PyTorch's state-dict keys.
_CARRIED = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


def _inf_norm(v):
    return v.abs().max()


def _cubic_minimiser(xa, fa, ga, xb, fb, gb, bounds=None):
    """Where the cubic matching value and slope at ``xa`` and ``xb`` has its minimum.

    The result is clipped to ``bounds`` (default: the interval between the two points); when
    the cubic has no real minimiser the middle of the bounds is the safest guess.
    """
    lo, hi = bounds if bounds is not None else ((xa, xb) if xa <= xb else (xb, xa))
    # The two textbook branches are one formula written from the right-hand point.
    (x_l, g_l), (x_r, g_r) = ((xa, ga), (xb, gb)) if xa <= xb else ((xb, gb), (xa, ga))
    slope_gap = ga + gb - 3 * (fa - fb) / (xa - xb)
    disc = slope_gap**2 - ga * gb
    if not disc >= 0:  # NaN included
        return (lo + hi) / 2.0
    root = disc.sqrt() if isinstance(disc, ember.Tensor) else disc**0.5
    guess = x_r - (x_r - x_l) * ((g_r + root - slope_gap) / (g_r - g_l + 2 * root))
    return min(max(guess, lo), hi)


def _away_from_ends(t, bracket, stalled):
    """Move a zoom trial that hugs an end of the bracket inwards, by a tenth of its width.

    A trial close to an end is accepted once (``stalled`` becomes True); a second one in a row,
    or one outside the bracket, is pushed in. Returns the trial and the new ``stalled`` flag.
    """
    left, right = min(bracket), max(bracket)
    margin = 0.1 * (right - left)
    if not min(right - t, t - left) < margin:
        return t, False
    if not (stalled or t >= right or t <= left):
        return t, True
    nearer_right = abs(t - right) < abs(t - left)
    return (right - margin if nearer_right else left + margin), False


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Find a step along ``d`` satisfying the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d``. Each trial is kept
    as ``(t, loss, grad, slope)``. The first phase grows the step until an interval is known to
    hold an acceptable one; the second shrinks that interval. Returns the loss, gradient and
    step of the best point seen, and how many times ``obj_func`` ran.
    """
    evals = 0

    def trial(step):
        nonlocal evals
        evals += 1
        loss, grad = obj_func(x, step, d)
        return step, loss, grad.clone(), dot(grad, d)

    def too_high(p):  # fails the sufficient-decrease (Armijo) condition
        return p[1] > (f + c1 * p[0] * gtd)

    def flat_enough(p):  # meets the strong curvature condition
        return abs(p[3]) <= -c2 * gtd

    scale = _inf_norm(d)
    start = (0, f, g.clone(), gtd)
    prev, cur = start, trial(t)
    tries, done, bracket = 0, False, None
    while tries < max_ls:
        if too_high(cur) or (tries > 1 and cur[1] >= prev[1]):
            bracket = [prev, cur]
            break
        if flat_enough(cur):
            bracket, done = [cur], True
            break
        if cur[3] >= 0:
            bracket = [prev, cur]
            break
        step = _cubic_minimiser(prev[0], prev[1], prev[3], cur[0], cur[1], cur[3],
                                bounds=(cur[0] + 0.01 * (cur[0] - prev[0]), cur[0] * 10))
        prev, cur = cur, trial(step)
        tries += 1
    if tries == max_ls:
        bracket = [start, cur]

    def ends():  # index of the lower-loss end first
        return (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)

    best, worst = ends()
    stalled = False
    while not done and tries < max_ls:
        (ta, fa, _, sa), (tb, fb, _, sb) = bracket
        if abs(tb - ta) * scale < tolerance_change:
            break
        step, stalled = _away_from_ends(_cubic_minimiser(ta, fa, sa, tb, fb, sb),
                                        (ta, tb), stalled)
        cur = trial(step)
        tries += 1
        if too_high(cur) or cur[1] >= bracket[best][1]:
            bracket[worst] = cur
            best, worst = ends()
            continue
        if flat_enough(cur):
            done = True
        elif cur[3] * (bracket[worst][0] - bracket[best][0]) >= 0:
            bracket[worst] = bracket[best]
        bracket[best] = cur
    t, loss, grad, _ = bracket[best]
    return loss, grad, t, evals


def _remember(pairs, y, s, size):
    """Append a curvature pair (and 1/ys) when it keeps the Hessian estimate positive definite.

    ``pairs`` is ``(old_dirs, old_stps, ro)``; the oldest pair is dropped at ``size``. Returns
    the new initial Hessian scale ``ys / yy``, or None when the pair was rejected.
    """
    ys = dot(y, s)
    if not ys > 1e-10:
        return None
    for history, item in zip(pairs, (y, s, 1.0 / ys)):
        if len(history) == size:
            del history[0]
        history.append(item)
    return ys / dot(y, y)


def _two_loop(grad, dirs, stps, ro, h_diag, alphas):
    """-H grad by the two-loop recursion, H the inverse-Hessian estimate from the stored pairs.

    ``alphas`` is the state's scratch list (PyTorch keeps it in the state as ``"al"``).
    """
    q = grad.neg()
    for i in reversed(range(len(dirs))):
        alphas[i] = dot(stps[i], q) * ro[i]
        q.add_(dirs[i], alpha=-alphas[i].item())
    r = q.mul(h_diag)
    for i, (y, s) in enumerate(zip(dirs, stps)):
        beta = dot(y, r) * ro[i]
        r.add_(s, alpha=(alphas[i] - beta).item())
    return r


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector (one group only).

    ``step(closure)`` runs up to ``max_iter`` iterations, each re-evaluating the closure;
    ``line_search_fn="strong_wolfe"`` picks each step length by line search.

    Example:
        >>> opt = ember.optim.LBFGS([x], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = f(x); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        check_common(lr)
        defaults = {
            "lr": lr, "max_iter": max_iter,
            "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) > 1:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups)"
            )
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        """All gradients as one vector; a parameter without one counts as zero slope."""
        return flat_cat([ember.zeros_like(p) if p.grad is None else p.grad for p in self._params])

    def _move(self, step, direction) -> None:
        """params += step * direction, the flat direction cut back into parameter shapes."""
        if isinstance(step, ember.Tensor):
            step = step.item()
        start = 0
        for p in self._params:
            end = start + p.numel()
            p.add_(direction[start:end].view(p.shape), alpha=step)
            start = end

    def _loss(self, closure):
        """The closure's loss (with autograd on, as step() runs under no_grad) and gradient."""
        with ember.enable_grad():
            raw = closure()
        return raw, self._flat_grad()

    def _probe(self, closure, origin, step, direction):
        """Loss and gradient at origin + step * direction, leaving the parameters at origin."""
        self._move(step, direction)
        raw, grad = self._loss(closure)
        loss = float(raw)  # read outside grad mode, as PyTorch does
        for p, saved in zip(self._params, origin):
            copy_(p, saved)
        return loss, grad

    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the first loss evaluated."""
        with ember.no_grad():
            return self._iterate(closure, **self.param_groups[0])

    def _iterate(self, closure, *, lr, max_iter, max_eval, tolerance_grad, tolerance_change,
                 history_size, line_search_fn, **_):
        state = self.state[self._params[0]]
        for counter in ("func_evals", "n_iter"):
            state.setdefault(counter, 0)
        first_loss, grad = self._loss(closure)
        loss, evals = float(first_loss), 1
        state["func_evals"] += 1
        if _inf_norm(grad) <= tolerance_grad:
            return first_loss

        d, t, dirs, stps, ro, h_diag, last_grad, last_loss = (state.get(k) for k in _CARRIED)
        for it in range(1, max_iter + 1):
            state["n_iter"] += 1
            fresh = state["n_iter"] == 1
            if fresh:
                dirs, stps, ro, h_diag = [], [], [], 1
                d = grad.neg()
            else:
                scale = _remember((dirs, stps, ro), grad.sub(last_grad), d.mul(t), history_size)
                h_diag = h_diag if scale is None else scale
                alphas = state.setdefault("al", [None] * history_size)
                d = _two_loop(grad, dirs, stps, ro, h_diag, alphas)
            if last_grad is None:
                last_grad = grad.clone()
            else:
                copy_(last_grad, grad)
            last_loss = loss
            # The first ever step is scaled so that it moves by at most lr in the 1-norm.
            t = min(1.0, 1.0 / grad.abs().sum()) * lr if fresh else lr
            slope = dot(grad, d)
            if slope > -tolerance_change:
                break  # not a descent direction any more

            if line_search_fn is None:
                self._move(t, d)
                used, optimal = 0, False
                if it != max_iter:
                    raw, grad = self._loss(closure)
                    loss, used = float(raw), 1
                    optimal = _inf_norm(grad) <= tolerance_grad
            else:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                origin = [p.clone() for p in self._params]

                def along(x, step, direction):
                    return self._probe(closure, x, step, direction)

                loss, grad, t, used = _strong_wolfe(along, origin, t, d, loss, grad, slope,
                                                    max_ls=max_eval - evals)
                self._move(t, d)
                optimal = _inf_norm(grad) <= tolerance_grad
            evals += used
            state["func_evals"] += used

            if (it == max_iter or evals >= max_eval or optimal
                    or _inf_norm(d.mul(t)) <= tolerance_change
                    or abs(loss - last_loss) < tolerance_change):
                break

        state.update(zip(_CARRIED, (d, t, dirs, stps, ro, h_diag, last_grad, last_loss)))
        return first_loss
