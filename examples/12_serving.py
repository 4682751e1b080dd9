"""12 - Serving a model over HTTP.

Run:  python examples/12_serving.py

`ember serve model.pt` (the serve extra) answers POST /predict with the model's outputs;
requests that arrive together share one forward pass. Here the same server runs inside
this process on a free local port, and the example sends it requests as a client would.
From a shell it is:

    python -c "import ember; ember.save(model, 'model.pt')"       # a whole module
    ember serve model.pt --port 8000
    curl -s localhost:8000/predict -d '{"inputs": [[0.1, 0.2, 0.3, 0.4]]}'
"""

import json
import threading
import time
import urllib.request

import uvicorn

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn
from ember.serve import create_app

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.Softmax(dim=1))

server = uvicorn.Server(uvicorn.Config(create_app(model), host="127.0.0.1", port=0,
                                       log_level="warning"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.01)
url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def post(path, payload):
    request = urllib.request.Request(url + path, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


batch = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 0.0]]
reply = post("/predict", {"inputs": batch})
local = model(torch.tensor(batch)).tolist()
print("served probabilities:", [[round(p, 4) for p in row] for row in reply["outputs"]])
print("same as calling the model:",
      all(abs(a - b) < 1e-6 for r, s in zip(reply["outputs"], local) for a, b in zip(r, s)))
with urllib.request.urlopen(url + "/metadata") as response:
    print("metadata:", json.loads(response.read()))
server.should_exit = True
