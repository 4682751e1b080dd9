"""ember.distributed: collectives and process groups over MPI (the ``distributed`` extra)."""

__all__: list = []
