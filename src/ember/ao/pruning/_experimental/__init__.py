"""Experimental pruning (``torch.ao.pruning._experimental``): data sparsifiers."""
