"""The switch behind ``ember.set_warn_always``: warnings PyTorch shows once per process
(``TORCH_WARN_ONCE``) are shown every time while it is on. No imports, so ``_tensor``
and the ops can read it."""

WARN_ALWAYS = [False]
