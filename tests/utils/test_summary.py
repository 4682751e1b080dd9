"""ember.utils.summary against torchinfo's table, character for character.

The GOLDEN tables were printed by torchinfo 1.8.0 on real PyTorch for the same models (its
"Total mult-adds (Units.MEGABYTES)" label, a formatting slip of that version under Python
3.11's enums, is written "(M)" as torchinfo means it). Parameter totals are also checked
against PyTorch's own count for several architectures.
"""

from __future__ import annotations

import pytest
import torch

import ember
from ember.utils.summary import ModelStatistics

GOLDEN = {
    'nested_input': """\
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
Sequential                               [2, 10]                   --
├─Conv2d: 1-1                            [2, 16, 8, 8]             160
├─Block: 1-2                             [2, 16, 8, 8]             3
│    └─Conv2d: 2-1                       [2, 16, 8, 8]             2,320
│    └─BatchNorm2d: 2-2                  [2, 16, 8, 8]             32
│    └─ModuleList: 2-3                   --                        --
│    │    └─ReLU: 3-1                    [2, 16, 8, 8]             --
│    │    └─Identity: 3-2                [2, 16, 8, 8]             --
├─ReLU: 1-3                              [2, 16, 8, 8]             --
├─Sequential: 1-4                        [2, 10]                   --
│    └─Flatten: 2-4                      [2, 1024]                 --
│    └─Sequential: 2-5                   [2, 10]                   --
│    │    └─Linear: 3-3                  [2, 10]                   10,250
==========================================================================================
Total params: 12,765
Trainable params: 12,621
Non-trainable params: 144
Total mult-adds (M): 0.34
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.05
Params size (MB): 0.05
Estimated Total Size (MB): 0.10
==========================================================================================""",
    'nested_no_input': """\
=================================================================
Layer (type:depth-idx)                   Param #
=================================================================
Sequential                               --
├─Conv2d: 1-1                            160
├─Block: 1-2                             3
│    └─Conv2d: 2-1                       2,320
│    └─BatchNorm2d: 2-2                  32
│    └─ModuleList: 2-3                   --
│    │    └─ReLU: 3-1                    --
│    │    └─Identity: 3-2                --
├─ReLU: 1-3                              --
├─Sequential: 1-4                        --
│    └─Flatten: 2-4                      --
│    └─Sequential: 2-5                   --
│    │    └─Linear: 3-3                  10,250
=================================================================
Total params: 12,765
Trainable params: 12,621
Non-trainable params: 144
=================================================================""",
    'nested_all_columns': """\
=======================================================================================================================================================================================================================
Layer (type (var_name):depth-idx)        Input Shape               Output Shape              Param #                   Param %                   Kernel Shape              Mult-Adds                 Trainable
=======================================================================================================================================================================================================================
Sequential (Sequential)                  [2, 1, 8, 8]              [2, 10]                   --                             --                   --                        --                        Partial
├─Conv2d (0): 1-1                        [2, 1, 8, 8]              [2, 16, 8, 8]             160                         1.25%                   [3, 3]                    20,480                    Partial
├─Block (1): 1-2                         [2, 16, 8, 8]             [2, 16, 8, 8]             3                           0.02%                   --                        --                        True
│    └─Conv2d (conv): 2-1                [2, 16, 8, 8]             [2, 16, 8, 8]             2,320                      18.17%                   [3, 3]                    296,960                   True
│    └─BatchNorm2d (bn): 2-2             [2, 16, 8, 8]             [2, 16, 8, 8]             32                          0.25%                   --                        64                        True
│    └─ModuleList (layers): 2-3          --                        --                        --                             --                   --                        --                        --
├─ReLU (2): 1-3                          [2, 16, 8, 8]             [2, 16, 8, 8]             --                             --                   --                        --                        --
├─Sequential (3): 1-4                    [2, 16, 8, 8]             [2, 10]                   --                             --                   --                        --                        True
│    └─Flatten (0): 2-4                  [2, 16, 8, 8]             [2, 1024]                 --                             --                   --                        --                        --
│    └─Sequential (1): 2-5               [2, 1024]                 [2, 10]                   10,250                     80.30%                   --                        20,500                    True
=======================================================================================================================================================================================================================
Total params: 12,765
Trainable params: 12,621
Non-trainable params: 144
Total mult-adds (M): 0.34
=======================================================================================================================================================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.05
Params size (MB): 0.05
Estimated Total Size (MB): 0.10
=======================================================================================================================================================================================================================""",
    'nested_depth1_ascii': """\
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
Sequential                               [2, 10]                   --
+ Conv2d: 1-1                            [2, 16, 8, 8]             160
+ Block: 1-2                             [2, 16, 8, 8]             2,355
+ ReLU: 1-3                              [2, 16, 8, 8]             --
+ Sequential: 1-4                        [2, 10]                   10,250
==========================================================================================
Total params: 12,765
Trainable params: 12,621
Non-trainable params: 144
Total mult-adds (M): 0.34
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.05
Params size (MB): 0.05
Estimated Total Size (MB): 0.10
==========================================================================================""",
    'two_inputs': """\
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
TwoInputs                                [3, 2]                    --
├─Linear: 1-1                            [3, 3]                    15
├─Linear: 1-2                            [3, 2]                    8
├─Linear: 1-3                            [3, 3]                    15
├─Linear: 1-4                            [3, 2]                    (recursive)
==========================================================================================
Total params: 38
Trainable params: 38
Non-trainable params: 0
Total mult-adds (M): 0.00
==========================================================================================
Input size (MB): 0.00
Forward/backward pass size (MB): 0.00
Params size (MB): 0.00
Estimated Total Size (MB): 0.00
==========================================================================================""",
}

def _models(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(16, 16, 3, padding=1)
            self.bn = nn.BatchNorm2d(16)
            self.extra = nn.Parameter(lib.zeros(3))
            self.layers = nn.ModuleList([nn.ReLU(), nn.Identity()])  # run one by one

        def forward(self, x):
            x = self.bn(self.conv(x))
            for layer in self.layers:
                x = layer(x)
            return x + self.extra.sum()

    def nested():
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), Block(), nn.ReLU(),
                              nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(16 * 64, 10))))
        model[0].weight.requires_grad_(False)                      # a frozen parameter
        return model

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.left = nn.Linear(4, 3)
            self.right = nn.Linear(5, 3, bias=False)
            self.shared = nn.Linear(3, 2)                          # called twice: recursive

        def forward(self, a, b):
            return self.shared(self.left(a)) + self.shared(self.right(b))

    return {"nested": nested, "two_inputs": TwoInputs}


CASES = {
    "nested_input": ("nested", dict(input_size=(2, 1, 8, 8))),
    "nested_no_input": ("nested", dict()),
    "nested_all_columns": ("nested", dict(
        input_size=(2, 1, 8, 8), depth=2, row_settings=("var_names", "depth"),
        col_names=("input_size", "output_size", "num_params", "params_percent",
                   "kernel_size", "mult_adds", "trainable"))),
    "nested_depth1_ascii": ("nested", dict(input_size=(2, 1, 8, 8), depth=1,
                                           row_settings=("ascii_only", "depth"))),
    "two_inputs": ("two_inputs", dict(input_size=[(3, 4), (3, 5)])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_table_matches_torchinfo(case, capsys):
    model_name, options = CASES[case]
    stats = ember.utils.summary(_models(ember)[model_name](), **options)
    assert isinstance(stats, ModelStatistics)
    assert str(stats) == GOLDEN[case]
    assert capsys.readouterr().out == GOLDEN[case] + "\n"     # verbose=1 prints it


def test_input_data_gives_the_same_table():
    model = _models(ember)["nested"]()
    stats = ember.utils.summary(model, input_data=ember.rand(2, 1, 8, 8), verbose=0)
    assert str(stats) == GOLDEN["nested_input"]


def test_keyword_inputs_from_a_dict():
    model = _models(ember)["two_inputs"]()
    data = {"a": ember.rand(3, 4), "b": ember.rand(3, 5)}
    stats = ember.utils.summary(model, input_data=data, verbose=0)
    assert str(stats) == GOLDEN["two_inputs"]


def _torch_counts(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


@pytest.mark.parametrize("build, input_size", [
    (lambda nn: nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3)), (4, 10)),
    (lambda nn: nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2)),
     (2, 3, 9, 9)),
    (lambda nn: nn.LSTM(6, 12, num_layers=2), (5, 3, 6)),
    (lambda nn: nn.Sequential(nn.Embedding(30, 8), nn.Flatten(), nn.Linear(32, 4)), None),
])
def test_totals_match_pytorch_counts(build, input_size):
    torch_model, ember_model = build(torch.nn), build(ember.nn)
    for module in (torch_model, ember_model):
        first = next(module.parameters())
        first.requires_grad_(False)
    stats = ember.utils.summary(ember_model, input_size=input_size, verbose=0)
    total, trainable = _torch_counts(torch_model)
    assert (stats.total_params, stats.trainable_params) == (total, trainable)
    assert stats.non_trainable_params == total - trainable
    assert f"Total params: {total:,}" in str(stats)


def test_mode_is_restored_and_no_graph_is_built():
    model = ember.nn.Sequential(ember.nn.Linear(3, 3), ember.nn.Dropout(0.5))
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, o.requires_grad)))
    ember.utils.summary(model, input_size=(2, 3), verbose=0)
    assert seen == [(False, False)] and model.training            # ran in eval, restored
    ember.utils.summary(model, input_size=(2, 3), mode="train", verbose=0)
    assert seen[-1] == (True, False)
    assert not any(m._forward_hooks for m in model[0:2])            # its hooks are removed


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(input_size=(2, 3), col_names=("nope",)), ValueError,
     "'nope' is not a valid ColumnSettings"),
    (dict(input_size=(2, 3), mode="test"), ValueError, "'test' is not a valid Mode"),
    (dict(input_size=(2, 0)), ValueError, "negative size found"),
    (dict(input_size=5), TypeError, "Input_size is not a recognized type"),
    (dict(input_size=(2, 4)), RuntimeError, "Failed to run torchinfo"),   # 4 features, not 3
])
def test_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        ember.utils.summary(ember.nn.Linear(3, 2), verbose=0, **kwargs)
