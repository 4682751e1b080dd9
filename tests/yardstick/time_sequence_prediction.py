"""pytorch/examples' time_sequence_prediction: sine waves generated with NumPy (seeded
np.random), a Sequence model of two nn.LSTMCell layers stepped by hand with
chunk/split and torch.zeros(..., dtype=torch.double) states, model.double(),
optim.LBFGS with a closure, and future prediction by feeding outputs back in.
Everything is float64 and deterministic (weights start from fixed values)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

# generate_sine_wave.py
np.random.seed(2)
T = 20
L = 100
N = 12
x = np.empty((N, L), "int64")
x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
data = np.sin(x / 1.0 / T).astype("float64")


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 24)
        self.lstm2 = nn.LSTMCell(24, 24)
        self.linear = nn.Linear(24, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 24, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 24, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 24, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 24, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2, help="steps to run")
    opt = parser.parse_args()
    # set random seed to 0
    np.random.seed(0)
    torch.manual_seed(0)
    # load data and make training set
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    print(input.shape, input.dtype, test_target.shape)
    # build the model
    seq = Sequence()
    seq.double()
    with torch.no_grad():
        for i, p in enumerate(seq.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.37 + i).reshape(tuple(p.shape)) * 0.2))
    print(seq.lstm1.weight_ih.dtype, seq.linear.bias.dtype)
    criterion = nn.MSELoss()
    # use LBFGS as optimizer since we can load the whole data to train
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    # begin to train
    for i in range(opt.steps):
        print("STEP: ", i)
        evaluations = []

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            evaluations.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        print("loss: %.6f after %d evaluations" % (evaluations[-1], len(evaluations)))
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = 50
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print("test loss: %.6f" % loss.item())
            y = pred.detach().numpy()
        print("prediction:", y.shape, ["%.4f" % v for v in y[0, -3:]])
    print("state:", sorted(optimizer.state_dict()["state"][0].keys())[:4],
          optimizer.state_dict()["param_groups"][0]["history_size"])
