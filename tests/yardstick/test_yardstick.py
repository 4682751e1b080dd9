"""The yardstick: realistic PyTorch programs run unchanged through `ember run`.

Each script here is written as a PyTorch learner writes one (``import torch``, and
``import torchvision`` where natural) and prints deterministic results: shapes, dtypes,
and numbers that do not depend on a random-number stream (weights start from fixed NumPy
values, loaders do not shuffle, dropout-dependent values are not printed; where a
program samples by design (VAE, GAN, REINFORCE, text generation) it prints what does not
depend on the draws: shapes, ranges, whether the loss fell or the task was solved). Each runs
twice as a subprocess: under real PyTorch (``python script.py``) and through
``python -m ember run script.py``; the printed lines must agree, numbers within float
tolerance (the libraries sum in different orders).

The test extra's torchvision (a CUDA build) cannot import next to the oracle's CPU torch
(its C ops do not load), so cnn_classifier.py and dcgan.py import it in a try block and fall back to a small stand-in for the few names
they use (FakeData, ToTensor, Normalize, save_image) under real PyTorch; through `ember
run`, ``torchvision`` resolves to ember.vision and the stand-in is not used.

checkpoint_interop.py also runs crossed: saved under PyTorch and loaded through `ember
run`, and the other way round; what it loads must print as in its own PyTorch run.

One module fixture runs them all, two at a time per library, through `_zygote.py`: each
script gets its own process forked from an interpreter that has imported the library once
(and run nothing), so no script sees another's state and none pays the import again.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _zygote import run_forked

# One xdist worker runs this whole module, so the module fixture's subprocesses run once
# (the suite runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("yardstick")

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "quickstart.py",        # Dataset/DataLoader, nn.Module, train/test loops, state_dict save/load
    "tensors.py",           # creation, attributes, indexing, cat, matmul variants, numpy bridge
    "autograd_basics.py",   # requires_grad, grad_fn, backward(gradient), no_grad, detach
    "cnn_classifier.py",    # FakeData/transforms, conv/pool/BatchNorm/Dropout, SGD+StepLR
    "custom_function.py",   # autograd.Function + gradcheck
    "rnn_classifier.py",    # Embedding + LSTM with pack_padded_sequence, GRU
    "transformer_lm.py",    # TransformerEncoder with a causal mask, MultiheadAttention
    "checkpoint_resume.py",  # full checkpoint dict (model, optimizer, epoch) and resume
    "pruning.py",           # nn.utils.prune: unstructured, structured, iterative, global, remove
    "nn_from_scratch.py",   # raw tensors to nn.Module: x[range(n), y], manual SGD, DataLoader, fit
    "gan_and_friends.py",   # DCGAN step, affine_grid/grid_sample, n-gram embeddings, GRU attention
    "checkpoint_interop.py",  # checkpoints saved by one library, loaded by the other (see below)
    "blitz_neural_networks.py",  # LeNet, backward(gradient), MSELoss, f.data.sub_, optim.SGD
    "examples_polynomial.py",  # "Learning PyTorch with Examples": numpy to nn, RMSprop, DynamicNet
    "recipes_save_load.py",  # define a net, state_dicts, zeroing grads, save/load, warmstart
    "vae.py",               # pytorch/examples vae: randn_like, binary_cross_entropy sum, argparse
    "mnist_example.py",     # pytorch/examples mnist: Adadelta, StepLR, nll_loss sum, test loop
    "word_language_model.py",  # pytorch/examples: RNNModel, TransformerModel, BPTT, multinomial
    "char_rnn_names.py",    # char-RNN names: Dataset, random_split, nn.RNN, collate_fn + packing
    "data_and_schedules.py",  # collate/samplers/IterableDataset, LR finder, schedulers, accumulation
    "amp_and_compile.py",   # autocast('cpu', bfloat16), GradScaler(enabled=False), torch.compile
    "seq2seq_translation.py",  # seq2seq with Bahdanau attention, teacher forcing, topk decoding
    "time_sequence_prediction.py",  # pytorch/examples: LSTMCell stepping, float64, LBFGS closure
    "reinforcement_learning.py",  # pytorch/examples REINFORCE + actor-critic: Categorical, deque
    "transfer_learning.py",  # ResNet blocks, freeze + new fc, set_grad_enabled, best-weights copy
    "autograd_advanced.py",  # hooks, Grad-CAM, WGAN-GP double backward, autograd.functional
    "custom_layers_and_utilities.py",  # Variable, _pair conv, checkpoint, assert_close, distributions
    "text_classification.py",  # torchtext tutorial: EmbeddingBag with offsets, collate_batch, SGD lr 5
    "adversarial_and_style.py",  # FGSM (input gradients, sign, clamp); style transfer with LBFGS
    "dcgan.py",             # pytorch/examples dcgan: FakeData, worker processes, save_image, .pth
    "lstm_tagger_crf.py",   # NLP tutorials: LSTM POS tagger, Bi-LSTM CRF forward algorithm/Viterbi
    "transformer_translation.py",  # nn.Transformer seq2seq: masks, key padding, greedy decode
    "multiprocess_evaluation.py",  # torch.multiprocessing spawn ranks, SimpleQueue, loader workers
    "parametrizations.py",  # Parametrizations tutorial (matrix_exp), module containers and buffers
    "graph_networks.py",    # GCN/GAT from scratch: index_add_, scatter_add_, scatter_reduce amax
    "profiler_recipe.py",   # torch.profiler: record_function, tables, schedule + on_trace_ready
    "mnist_hogwild.py",     # pytorch/examples mnist_hogwild: share_memory, spawned trainers
    "tensorboard_tutorial.py",  # SummaryWriter: images, graph, embedding, scalars, figures, PR
    "benchmark_recipe.py",  # torch.utils.benchmark: Timer, blocked/adaptive autorange, Compare
    "forward_ad_usage.py",  # forward_ad: dual_level, make_dual/unpack_dual, modules, Function.jvp
    "fusing_conv_bn.py",    # fused conv+BN autograd.Function, gradcheck, nn.utils.fusion
    "func_jacobians_hessians.py",  # torch.func: jacrev/jacfwd, vmap, hessian, hvp (jvp of grad)
    "func_per_sample_grads.py",  # vmap(grad) per-sample gradients, stack_module_state ensembles
    "knowledge_distillation.py",  # teacher/student: softened-logit KL, cosine and MSE hint losses
    "fft_filtering.py",     # torch.fft: rfft/irfft filtering, FFT conv == conv1d, learned gains
    "double_backward_custom_function.py",  # gradgradcheck of custom Functions, backward Function
    "spatial_transformer.py",  # STN: localization net, affine_grid + grid_sample, SGD training
    "memory_format.py",     # channels_last: strides, is_contiguous(memory_format), model.to(...)
    "normalizing_flow.py",  # distributions: VAE posterior KL, TransformedDistribution flow
    "neural_tangent_kernels.py",  # torch.func NTK: vmap(jacrev) contraction and NTK-vector products
    "fx_graph_transforms.py",  # torch.fx: trace, rewrite, conv-bn fusion, Interpreter, ShapeProp
    "saved_tensor_hooks.py",  # autograd.graph: _saved_*, pack/unpack hooks, save_on_cpu, to disk
    "dqn_gridworld.py",     # DQN tutorial on a grid world: replay memory, target net, gather, Huber
    "llama_from_scratch.py",  # RoPE via complex views, RMSNorm, GQA, SwiGLU, SDPA causal, beams
    "unet_and_denoiser.py",  # U-Net skips + per-pixel CE/Dice/IoU; ConvTranspose2d denoiser, BCE
    "word2vec_and_swa.py",  # skip-gram negative sampling, SparseAdam; swa_utils SWA/EMA, update_bn
    "mixture_and_vi.py",    # GMM by MixtureSameFamily and EM, constraints, VI ELBO, analytic KLs
    "metric_learning_and_stats.py",  # patch encoder, NT-Xent, batch-hard triplets, k-means, stats
    "classical_ml_and_audio.py",  # PCA/ridge/GP via linalg, LBFGS strong Wolfe, stft/istft, CTC
    "modules_tour.py",      # MobileNet/SE/ChannelShuffle, PixelShuffle, unpool, packed biGRU, MHA
    "tabular_pipeline.py",  # dict datasets, default_collate trees, entity embeddings, AUC
    "numerics_and_inplace.py",  # int wraparound, rounding modes, fake quant, life, views, printing
    "maml_and_hypernets.py",  # MAML 1st/2nd order via functional_call, double backward, hypernet
    "common_mistakes.py",   # beginners' errors: exception types and PyTorch's message texts
    "mlp_mixer_recipe.py",  # MLP-Mixer: label smoothing, AdamW groups, OneCycleLR, clipping, EMA
    "gru_beam_search.py",   # biGRU over packed batches, masked attention + loss, beam search
    "hooks_and_higher_order.py",  # module/tensor/node hooks, n-th derivatives, batched vjp, HVP
    "kalman_and_fitting.py",  # Kalman filter + RTS smoother, MLE via transform_to, lstsq/LU/QR/PCA
    "sampling_pipeline.py",  # weighted/bucketing/subset/distributed samplers, StackDataset, shards
    "einsum_and_binning.py",  # einsum attention/bilinear forms, cdist, bucketize/histogram/unique
    "optimizer_state_roundtrip.py",  # 10 optimizer+scheduler pairs resumed mid-run, weights_only
    "pointnet_pointclouds.py",  # PointNet + T-Net, FPS, kNN gather, EdgeConv via scatter_reduce
    "autocast_scaler_checkpoint.py",  # autocast op table, custom_fwd, CPU GradScaler, checkpoint
    "tcn_forecasting.py",   # causal dilated TCN, weight_norm, unfold windows, pinball, bf16 AE
    "t5_custom_ops.py",     # Custom Python Operators: custom_op, register_fake/autograd, opcheck
    "t5_export_flow.py",    # torch.export: signature, Dim batch, save/load, unflatten, errors
    "t5_torch_function.py",  # __torch_function__: ScalarTensor, LoggingTensor, units, modes
    "t5_pytree_utils.py",   # _pytree: nested batches, device moves, optimizer state, dataclass
    "t5_qat_static.py",     # eager QAT: fuse, prepare_qat, freeze, convert, accuracy and size
    "t5_library_ops.py",    # Library DEF/impl, Tensor[] ops with autograd, custom op in export
    "t5_fake_quant_observers.py",  # observers, FakeQuantize STE, quantized tensors, partial QAT
    "masked_tensor_tutorial.py",  # torch.masked: MaskedTensor semantics, padded softmax, Adagrad
    "sparse_csr_gnn.py",    # GCN on a CSR adjacency, edge-weight grads, sampled_addmm, save/load
    "modern_training_recipe.py",  # Muon + AdamW groups, LinearCrossEntropyLoss, SAC, rearrange
    "fx_quantization.py",   # FX PTQ: prepare_fx/convert_fx, QConfigMapping by type/name, dynamic
    "super_resolution.py",  # ESPCN: YCbCr, PixelShuffle, orthogonal/ICNR init, PSNR vs bicubic
    "mnist_forward_forward.py",  # Hinton's Forward-Forward: per-layer Adam, goodness, overlays
    "fast_neural_style.py",  # TransformerNet: InstanceNorm, upsample+conv, Gram style loss, TV
    "vision_transformer.py",  # ViT: patch embed, cls token, pos-embed resize, DropPath, rollout
    "siamese_contrastive.py",  # siamese pairs + BCELoss, contrastive loss, pair/triplet losses
    "seq2seq_packed_attention.py",  # biLSTM over packed batches, Luong attention, masks, forcing
    "ppo_continuous_control.py",  # PPO: Independent(Normal), GAE, clipped surrogate, tanh squash
    "augmentation_pipeline.py",  # batched affine_grid/grid_sample, interpolate modes, pads, mixup
    "swin_window_attention.py",  # Swin: windows, relative position bias, shifted-window masks
    "mixture_of_experts.py",  # top-k router, argsort/bincount dispatch, index_add_, capacity, aux
    "lm_decoding_and_adaptive_softmax.py",  # LSTM proj_size, AdaptiveLogSoftmax, top-k/p, Gumbel
    "compile_warmup_ema.py",  # nanoGPT loop: OptimizedModule keys, warmup+cosine, accumulation, EMA
    "half_precision_inference.py",  # model.to(bfloat16)/half(): scalar products, gates, softmax
]
TIME_LIMIT = 120  # seconds per run, with room for a loaded machine
RTOL, ATOL = 1e-3, 1e-4

# What each script promises about itself, checked in its `ember run` output.
CLAIMS = {
    "quickstart.py": ["same predictions after load: True"],
    "tensors.py": ["[11., 25.]]) True True"],
    "autograd_basics.py": ["tensor([True, True]) tensor([True, True])"],
    "cnn_classifier.py": ["eval twice is the same: True", "bn1 batches tracked: 1"],
    "custom_function.py": ["gradcheck P3: True", "gradcheck softplus: True"],
    "rnn_classifier.py": ["padding stays zero: True", "tanaka -> Japanese"],
    "transformer_lm.py": ["causal: True"],
    "checkpoint_resume.py": ["resumed run identical to uninterrupted one: True"],
    "pruning.py": ["pruned entries get no gradient: True", "Global sparsity: 20.00%"],
    "nn_from_scratch.py": ["['weights', 'bias']", "(0): Lambda()"],
    "gan_and_friends.py": ["fake: (4, 3, 8, 8) torch.float32", "warp: (1, 8, 8, 2)"],
    "checkpoint_interop.py": ["<All keys matched successfully>", "Parameter True"],
    "blitz_neural_networks.py": ["graph recorded: True", "grads cleared to None: True"],
    "examples_polynomial.py": ["['a', 'b', 'c', 'd', 'e']", "xx: torch.Size([2000, 3])"],
    "recipes_save_load.py": ["accumulates without zeroing: True", "warm weights copied: True",
                             "entire model: SmallNet True", "BytesIO: True True"],
    "vae.py": ["loss fell: True", "comparison: (16, 1, 28, 28) True True"],
    "mnist_example.py": ["test loss fell: True accuracy above chance: True"],
    "word_language_model.py": ["tied: True", "generated: 12 True (13, 1)",
                               "test loss below start: True"],
    "char_rnn_names.py": ["loss fell: True", "padding zero: True", "Slusarski"],
    "data_and_schedules.py": ["accumulated == big batch: True", "restored: True",
                              "accuracy: 1.0"],
    "amp_and_compile.py": ["output: torch.bfloat16", "compiled matches eager: True",
                           "bf16 close to fp32: True", "decorated: torch.bfloat16"],
    "seq2seq_translation.py": ["attentions: (1, 8, 4) 8.0000", "(40 100%)"],
    "time_sequence_prediction.py": ["torch.float64 torch.float64", "after 20 evaluations"],
    "reinforcement_learning.py": ["REINFORCE solved: True", "actor-critic solved: True"],
    "transfer_learning.py": ["frozen layers unchanged: True conv grad: None",
                             "trainable: ['fc.weight', 'fc.bias'] 34"],
    "autograd_advanced.py": ["anomaly mode off again: False", "pre-hook saw: [(2, 1, 6, 6)]",
                             "y.grad_fn: MulBackward0"],
    "custom_layers_and_utilities.py": ["checkpointed loss: -0.13507 grads equal: True",
                                       "Variable: Tensor True True True",
                                       "rsample: (8, 4) True log_prob: (8,)"],
    "text_classification.py": ["This is a Sports news", "random_split: 91 5"],
    "adversarial_and_style.py": ["Epsilon: 0\tTest Accuracy = 24 / 24 = 1.0",
                                 "cnn untouched: True", "deepcopy equal: True"],
    "dcgan.py": ["reloaded generator matches: True batches tracked: 12",
                 "real_samples.png", "[1/2][3/4] losses finite: True"],
    "lstm_tagger_crf.py": ["step-by-step == whole sequence: True", "after: "],
    "transformer_translation.py": ["same as nn.Transformer's: True",
                                   "translation is English words: True True"],
    "multiprocess_evaluation.py": ["start method: spawn", "RuntimeError: shard 1 is corrupt",
                                   "loader: [([0.0, 1.0, 2.0, 3.0], [0, 0, 0, 0])"],
    "parametrizations.py": ["orthogonal via exp(skew): True 2", "cached: True uncached: False",
                            "buffers: ['running', 'scratch']"],
    "graph_networks.py": ["dense == message passing: True",
                          "attention sums to one per node: True"],
    "profiler_recipe.py": ["traces saved at steps: [(4, True), (8, True)]",
                           "labelled regions: {'model_inference': 1}"],
    "mnist_hogwild.py": ["parameters shared: True", "shared parameters moved: True",
                         "test loss fell: True accuracy above chance: True"],
    "tensorboard_tutorial.py": ["graph written: True", "sub-runs: ['loss_half', 'loss_train', "
                                "'trial']", "pr curve shape: [6, 127]"],
    "benchmark_recipe.py": ["versions agree: True", "thread groups: ['1 threads', '2 threads']"],
    "forward_ad_usage.py": ["tangent kept as is: True", "after the level: None",
                            "functional_call agrees: True", "gradcheck forward AD: True"],
    "fusing_conv_bn.py": ["fused gradcheck: True", "fused == conv then bn: True",
                          "torch.nn.grad agrees: True True",
                          "AssertionError: Fusion only for eval!"],
    "func_jacobians_hessians.py": ["jacfwd matches: True", "summed-output trick agrees: True",
                                   "reverse-over-reverse agrees: True"],
    "func_per_sample_grads.py": ["fc2.bias: (16, 10) matches loop: True",
                                 "different minibatches: (5, 8, 10) True"],
    "knowledge_distillation.py": ["Student hidden representation shape: torch.Size([2, 16])",
                                  "missing keys: ['regressor.0.weight', 'regressor.0.bias']"],
    "fft_filtering.py": ["strongest bins: [5, 12]", "2-D FFT blur == circular conv2d: True",
                         "fft conv == conv1d: torch.Size([2, 1, 92]) True"],
    "double_backward_custom_function.py": ["Cube gradgradcheck: True",
                                           "SinhBad gradgradcheck raised GradcheckError True"],
    "spatial_transformer.py": ["identity warp: True", "shift by 2 px: True",
                               "moved away from identity: True"],
    "memory_format.py": ["(3072, 1, 96, 3)", "weight channels last: True (27, 1, 9, 3)",
                         "grads agree: True"],
    "normalizing_flow.py": ["kl matches closed form: True", "LogNormal == exp(Normal): True",
                            "LeakyMap inverse: True"],
    "neural_tangent_kernels.py": ["NTK-vector products agree: torch.Size([2, 3, 5, 5]) True",
                                  "diagonal NTK: torch.Size([6, 4, 5]) True"],
    "saved_tensor_hooks.py": ["log after backward: ['pack', 'unpack'] grad: [4.0, 4.0, 4.0]",
                              "files after the graph is freed: 0", "disabled: no hooks here"],
    "fx_graph_transforms.py": ["fused == eager: True", "concrete flag=False: [2.0]",
                               "silu = torch.nn.functional.silu(x, inplace = False)"],
    "dqn_gridworld.py": ["target equals policy: True", "target lags policy: True",
                         "'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'"],
    "llama_from_scratch.py": ["rope complex == real: True norm kept: True",
                              "sdpa causal == einsum: True", "kv cache == full pass: True",
                              "rescored == beam scores: True"],
    "unet_and_denoiser.py": ["ignored pixels have zero loss: True", "odd size: (1, 3, 12, 12)",
                             "recon: (8, 1, 16, 16)", "pixel acc above 0.6: True"],
    "word2vec_and_swa.py": ["sparse grad: True torch.sparse_coo (17, 10)",
                            "swa n_averaged: 4 ema n_averaged: 40",
                            "update_bn changed running stats: True momentum restored: 0.1",
                            "checkpoint grads equal: True True"],
    "mixture_and_vi.py": ["responsibilities sum to one: True", "Independent == diagonal MVN: True",
                          "_LowerCholesky check: True",
                          "sample shapes: (4, 2) (5, 2, 3) (2, 3, 3)"],
    "metric_learning_and_stats.py": ["fold back: True", "cdist p=1 == manual: True",
                                     "unique_consecutive: [1, 2, 3, 1] [2, 3, 1, 2]",
                                     "sizes: [20, 20, 20]"],
    "classical_ml_and_audio.py": ["solve == cholesky_solve == lstsq: True True",
                                  "cholesky mll == slogdet mll: True", "arcs separated: True",
                                  "istft round trip: True", "stft: (65, 33) torch.complex64"],
    "modules_tour.py": ["(7): ChannelShuffle(groups=2)", "last forward state == h_n: True",
                        "masked keys get zero: True", "g is row norms: True",
                        "pixel shuffle: ((4, 48, 4, 4), (4, 12, 8, 8)) hook calls: 6"],
    "tabular_pipeline.py": ["collate nested: [tensor([1, 3]), [tensor([2, 4]), ('a', 'b')]]",
                            "collate namedtuple: Pair torch.float64 [3, 6]",
                            "reload: <All keys matched successfully>", "same predictions: True"],
    "numerics_and_inplace.py": ["ste grad passes through: True", "alive: 5",
                                "fake_quantize_per_channel_affine agrees: True",
                                "torch::autograd::CopySlices", "tensor([ True, False])"],
    "maml_and_hypernets.py": ["orders differ: True", "improved: True",
                              "bn buffers updated by functional_call: 2",
                              "generated parameters per task: 25"],
    "common_mistakes.py": ["from list ragged: ValueError: expected sequence of length 2 at dim 1",
                           "scatter dtype: RuntimeError: scatter(): Expected dtype int32/int64",
                           "TypeError: can't convert np.ndarray of type numpy.object_",
                           "mat1 and mat2 shapes cannot be multiplied (4x10 and 20x5)"],
    "mlp_mixer_recipe.py": ["reshape == unfold: True", "ema fns agree: True",
                            "n_averaged: 18 18", "label smoothing by hand: 0.92027 0.92027 True"],
    "gru_beam_search.py": ["sorted: [3, 2, 1, 0]", "left padding: [[1, 2], [0, 3]]",
                           "padding rows zero: True", "reversed correctly: 4 of 4",
                           "attention on padding: 0.0 rows sum to one: True"],
    "hooks_and_higher_order.py": ["('pre', (2, 3), ['factor'])", "('bwd', (2, 3), [20.0, 20.0])",
                                  "global forward hook saw: ['Linear', 'ReLU', 'Sequential']",
                                  "node hooks: ['prehook', ('hook', 1)]", "match: True",
                                  "materialize_grads: [3.0, 4.0] 0.0", "inputs=[v]: None"],
    "kalman_and_fitting.py": ["smoother beats filter: True", "Gamma     nll 1.02493",
                              "normal equations == qr: True", "svd agrees: True",
                              "cholesky_ex info: 0 inverse via cholesky_inverse: True"],
    "sampling_pipeline.py": ["every item once: True", "same seed, same epoch: True",
                             "distributed drop_last=False: [[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9, 0]]",
                             "two workers shard the stream: True", "worker_init_fn calls: []"],
    "einsum_and_binning.py": ["ellipsis == flattened batch: True", "Bilinear == einsum: True",
                              "softmax/bilinear of transposed views are contiguous: True True",
                              "cdist modes agree off the diagonal: True",
                              "bucketize right int32: tensor([1, 1, 1, 2, 3, 3, 3, 4, 5, 0], "
                              "dtype=torch.int32)", "unique rows: [[0, 1], [1, 2], [3, 3]]"],
    "optimizer_state_roundtrip.py": ["weights_only refuses: UnpicklingError True",
                                     "after add_safe_globals: 3 [1.0, 1.0]",
                                     "views share storage after load: [0.0, 1.0, 100.0",
                                     "steps per param: [2, 2, 1, 1]",
                                     "ValueError: loaded state dict has a different number of "
                                     "parameter groups"],
    "pointnet_pointclouds.py": ["gather at argmax == max-pool: True", "permutation invariant: True",
                                "centre is its own nearest: True",
                                "edge list == dense EdgeConv: True", "== sum / count: True"],
    "autocast_scaler_checkpoint.py": ["    bmm                bfloat16", "    einsum             float16",
                                      "    conv_transpose2d   bfloat16",
                                      "step 2 scale 256.0 finite False updated False",
                                      "checkpoint == plain with dropout: True True True aux: aux",
                                      "channels_last kept: True grad: True (50, 1, 10, 2)"],
    "tcn_forecasting.py": ["shares storage: True", "receptive field: 13 .. 20 causal: True",
                           "anomaly flagged: True",
                           "autocast dtypes: torch.bfloat16 torch.bfloat16 torch.bfloat16",
                           "bf16 close to fp32: True tcn: True"],
    "t5_custom_ops.py": ["grad is cos: True", "gradcheck scaled_tanh: True", "loss fell: True",
                         "mutated out: [1.0, 2.0, 3.0, 4.0]"],
    "t5_export_flow.py": ["module() == eager: True (2, 3)", "range: [(1, 64)]",
                          "loaded == original: True", "unflatten == eager: True",
                          "data-dependent branch raises: GuardOnDataDependentSymNode"],
    "t5_torch_function.py": ["logged: ['linear', 'mean', 'pow', 'tanh']",
                             "work: [2.0, 4.0, 6.0] m*N UnitTensor",
                             "saved and loaded: UnitTensor m*N",
                             "mode rewrites add: [4.0, 4.0] [0.0, 0.0]"],
    "t5_pytree_utils.py": ["namedtuple kept: Batch torch.float64 torch.int64 [5, 9]",
                           "same structure: True", "custom node: Pair [2.0, 2.0] [1.0] 4",
                           "dataclass: ModelOutput None 18.0 [[0.0], [3.0]]"],
    "t5_qat_static.py": ["prepared: ConvBnReLU2d LinearReLU Linear",
                         "converted: ConvReLU2d LinearReLU Linear Quantize",
                         "above chance: True", "smaller after convert: True"],
    "t5_library_ops.py": ["grads: [10.0, 6.0, 2.0] [-5.0, -3.0, -1.0] [5.0, 3.0, 1.0]",
                          "exported calls: ['aten.linear.default', 't5ops.soft_clip.default']",
                          "running max: [2.0, 2.0, 0.5]", "gradcheck soft_clip: True"],
    "t5_fake_quant_observers.py": ["straight-through grad: 24.0 1.0", "observer frozen: True",
                                   "clipped grad: [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]",
                                   "out weight on grid: True"],
    "masked_tensor_tutorial.py": ["where grad has nan: True count: 2",
                                  "grad mask is the input mask: True",
                                  "mismatched masks: ValueError Input masks must match",
                                  "masked.softmax == masked_fill(-inf): True",
                                  "grad rows sum to zero: True",
                                  "MaskedTensor Adagrad == sparse Adagrad: True True"],
    "sparse_csr_gnn.py": ["crow_indices: [0, 4, 7, 11, 14, 18, 23, 26, 30, 33, 36]",
                          "csr.t(): torch.sparse_csc True", "accuracy: 1.0",
                          "edge weight grads == dense grad on the pattern: True",
                          "sampled_addmm: torch.sparse_csr 36 True",
                          "loaded: torch.sparse_csr 36 torch.float32 True True"],
    "modern_training_recipe.py": ["head grads agree: True", "chunked == reference: True",
                                  "Muon refuses vectors: Muon only supports 2D parameters",
                                  "update singular values in (0.5, 1.5): True",
                                  "selective checkpoint == plain: True True",
                                  "selective policy saved: ['aten.mm.default']",
                                  "scaler step 1: scale 4096.0 finite True"],
    "fx_quantization.py": ["converted modules: ['AdaptiveAvgPool2d', 'Conv2d', 'ConvReLU2d', "
                           "'Linear', 'LinearPackedParams', 'LinearReLU']",
                           "within 5% of float: True same argmax: True",
                           "int activations: torch.quint8 torch.uint8",
                           "fusion needs one qconfig: LookupError During fusion",
                           "('fc1', 'per_tensor_affine'), ('fc2', 'per_tensor_affine')]",
                           "linear weights: torch.per_tensor_affine torch.per_tensor_affine",
                           "last layer stays float: Linear torch.float32",
                           "dynamic modules: [('Linear', True), ('LSTM', True), ('Linear', True)]"],
    "super_resolution.py": ["ycbcr round trip: True", "orthogonal rows: True",
                            "ICNR gives nearest-neighbour blocks: True", "reloaded matches: True"],
    "mnist_forward_forward.py": ["negative labels never true: True", "better than chance: True",
                                 "each layer has its own gradients: True True"],
    "fast_neural_style.py": ["frozen vgg: True", "symmetric: True", "vgg untouched: True",
                             "dropped legacy keys: 2", "eval == train (no running stats): True"],
    "vision_transformer.py": ["conv == unfold @ W: True", "drop_path keeps or doubles: True",
                              "rows sum to one: True", "32x32 input: (2, 65, 32) (2, 4)",
                              "sdpa == MultiheadAttention: True",
                              "nn.TransformerEncoder agrees: True"],
    "siamese_contrastive.py": ["pair: (1, 12, 12) (1, 12, 12) tensor(1.) tensor(0.)",
                               "above chance: True", "same pairs closer: True",
                               "pair losses match their formulas: [True, True, True, True]"],
    "seq2seq_packed_attention.py": ["padding rows zero: True", "packed == one at a time: True",
                                    "padding embedding gets no gradient: True",
                                    "attention on padding: 0.0 rows sum to one: True"],
    "ppo_continuous_control.py": ["Independent sums the event dims: True",
                                  "tanh-squashed log_prob == change of variables: True",
                                  "mean-action return improved: True solved: True",
                                  "log_std fell: True"],
    "augmentation_pipeline.py": ["identity warp is exact: True", "warped masks stay labels: True",
                                 "reflect pad mirrors: True", "separable == 2-d kernel: True",
                                 "rot90 four times is identity: True rot90 k=-1 == k=3: True",
                                 "closer to the true warp: True", "packed == alone: True"],
    "swin_window_attention.py": ["round trip: True",
                                 "centre on the diagonal: True antisymmetric: True",
                                 "blocked per window: [0, 128, 128, 192]",
                                 "state_dict keeps index, not mask: True False",
                                 "masked pairs get ~0 attention: True",
                                 "unmasked rows sum to one: True"],
    "mixture_of_experts.py": ["sparse == dense: True", "weights sum to one: True",
                              "gradients agree: True",
                              "unused experts get zero grad: [1, 2] True used ones do not: True",
                              "slot positions: [0, 0, 1, 2, 0, 1]", "loss fell: True"],
    "lm_decoding_and_adaptive_softmax.py": [
        "last step == h: True", "manual LSTMP step matches: True", "== -mean(output): True",
        "log_prob normalised: True matches output: True predict == argmax: True",
        "max_norm renorms rows in place:", "draws only from kept tokens: True",
        "straight-through gradient flows: True True",
        "relaxed sample on the simplex: (2, 6) True True",
        "clipped by value: [[1.0, 1.0], [[1.0]]] inf norm 1.0000"],
    "compile_warmup_ema.py": ["compiled: OptimizedModule raw is model: True",
                              "state_dict keys: ['_orig_mod.steps_seen', '_orig_mod.fc1.weight'",
                              "accumulated == big batch: True", "scheduler == nanoGPT get_lr: True",
                              "<All keys matched successfully> iter_num: 16",
                              "resumed == trained: True",
                              "EMA weights load into the plain model: True"],
    "half_precision_inference.py": [
        "torch.bfloat16 torch.bfloat16 close to float32: True argmax agrees: True",
        "torch.float16 torch.float16 close to float32: True argmax agrees: True",
        "bf16 backward: torch.float32 torch.bfloat16 torch.bfloat16 finite: True"],
}

_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|-?inf\b|\bnan\b")


INTEROP = "checkpoint_interop.py"


def _environment():
    return dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1", TQDM_DISABLE="1")


def _run(command):
    return subprocess.run(command, cwd=HERE, capture_output=True, text=True,
                          timeout=TIME_LIMIT, env=_environment())


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every script under real PyTorch and through `ember run`, keyed by (script, how)."""
    commands = [[str(HERE / name)] for name in SCRIPTS]
    runs = run_forked({how: commands for how in ("torch", "ember run")}, HERE,
                      tmp_path_factory.mktemp("yardstick"), _environment(), TIME_LIMIT)
    return {(name, how): run for how in runs for name, run in zip(SCRIPTS, runs[how])}


@pytest.fixture(scope="module")
def crossed(tmp_path_factory):
    """checkpoint_interop.py's load output for checkpoints written by the other library:
    keyed by (who saved, who loaded)."""
    script = str(HERE / INTEROP)
    commands = {"torch": [sys.executable, script], "ember run": [
        sys.executable, "-m", "ember", "run", script]}
    pairs = [("torch", "ember run"), ("ember run", "torch")]
    folders = {pair: tmp_path_factory.mktemp("interop") for pair in pairs}
    with ThreadPoolExecutor(max_workers=2) as pool:
        saved = [pool.submit(_run, commands[writer] + ["save", str(folders[writer, reader])])
                 for writer, reader in pairs]
        for future in saved:
            _ok(future.result())
        loads = {(writer, reader): pool.submit(
            _run, commands[reader] + ["load", str(folders[writer, reader])])
            for writer, reader in pairs}
        return {pair: future.result() for pair, future in loads.items()}


def _ok(result) -> str:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def same_numbers(a: str, b: str) -> bool:
    """Whether two numbers printed by the two libraries agree within float tolerance."""
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= ATOL + RTOL * abs(y)


def assert_same_output(ours: str, theirs: str) -> None:
    """Line by line: the text around the numbers is identical, the numbers agree."""
    our_lines, their_lines = ours.splitlines(), theirs.splitlines()
    assert len(our_lines) == len(their_lines), (ours, theirs)
    for number, (mine, expected) in enumerate(zip(our_lines, their_lines), 1):
        context = f"line {number}:\n ember: {mine}\n torch: {expected}"
        assert _NUMBER.sub("#", mine) == _NUMBER.sub("#", expected), context
        for a, b in zip(_NUMBER.findall(mine), _NUMBER.findall(expected)):
            assert same_numbers(a, b), context


@pytest.mark.parametrize("mine, expected, same", [
    ("loss 1.00001", "loss 1.00002", True),
    ("loss 1.1", "loss 1.2", False),
    ("-0.0000 + x", "0.0000 + x", True),
    ("[0.0, -inf]", "[0.0, -inf]", True),
    ("[0.0, inf]", "[0.0, -inf]", False),
    ("shape (2, 3)", "shape (2, 4)", False),
    ("dtype torch.float32", "dtype torch.float64", False),
    ("a: True", "a: False", False),
])
def test_comparison_rule(mine, expected, same):
    if same:
        assert_same_output(mine, expected)
    else:
        with pytest.raises(AssertionError):
            assert_same_output(mine, expected)


def test_every_script_is_listed():
    on_disk = {path.name for path in HERE.glob("*.py") if not path.name.startswith("test_")}
    assert on_disk == set(SCRIPTS) == set(CLAIMS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs_under_real_pytorch(results, name):
    assert _ok(results[(name, "torch")]).strip()


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_prints_the_same_through_ember_run(results, name):
    assert_same_output(_ok(results[(name, "ember run")]), _ok(results[(name, "torch")]))


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_keeps_its_promises(results, name):
    output = _ok(results[(name, "ember run")])
    for claim in CLAIMS[name]:
        assert claim in output, (claim, output)


@pytest.mark.parametrize("writer, reader", [("torch", "ember run"), ("ember run", "torch")])
def test_checkpoints_cross_between_the_libraries(results, crossed, writer, reader):
    assert_same_output(_ok(crossed[writer, reader]), _ok(results[(INTEROP, "torch")]))
