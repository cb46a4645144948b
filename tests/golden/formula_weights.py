"""Deterministic "formula" weights for model golden fixtures (the Python half of
tests/seg/formula_weights.h; change both or neither).

A torchvision ResNet-50 FCN has 35 M parameters, too many to commit. Both sides fill every
state-dict entry from a closed formula of (entry index k in state_dict order, element index i),
so a fixture stores only the input, the reference outputs and the keys with their shapes.

    t = sin(0.37 * i + 1.3 * k)
    running_var -> 1 + 0.25 (1 + t); num_batches_tracked -> 0; running_mean -> 0.1 t;
    1-d weight (BN gamma) -> 1 + 0.2 t; other 1-d -> 0.1 t; >= 2-d -> sqrt(3 / fan_in) t
computed in float64 and rounded to the entry's dtype.
"""
import math

import torch


def formula_tensor(name, ref, k):
    n = ref.numel()
    i = torch.arange(n, dtype=torch.float64)
    t = torch.sin(0.37 * i + 1.3 * k)
    if name.endswith("running_var"):
        v = 1.0 + 0.25 * (1.0 + t)
    elif name.endswith("num_batches_tracked"):
        v = torch.zeros(n, dtype=torch.float64)
    elif name.endswith("running_mean"):
        v = 0.1 * t
    elif ref.dim() == 1 and name.endswith("weight"):
        v = 1.0 + 0.2 * t
    elif ref.dim() <= 1:
        v = 0.1 * t
    else:
        v = math.sqrt(3.0 / (n // ref.shape[0])) * t
    return v.reshape(ref.shape).to(ref.dtype)


def formula_state_dict(model):
    return {name: formula_tensor(name, ref, k) for k, (name, ref) in enumerate(model.state_dict().items())}


def load_formula_weights(model):
    model.load_state_dict(formula_state_dict(model))
    return model


def keys_and_shapes(model):
    """[[key, [shape...]], ...] in state_dict order, for a fixture's metadata."""
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]
