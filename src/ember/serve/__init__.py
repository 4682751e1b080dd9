"""ember.serve: a model server for an ember module (the ``serve`` extra: Starlette and
uvicorn). ``ember serve checkpoint.pt`` from the command line, or in Python::

    from ember.serve import create_app, serve
    serve(model, port=8000)            # POST /predict {"inputs": [[...], ...]}
"""

from .app import create_app, serve
from .loading import load_model

__all__ = ["create_app", "load_model", "serve"]
