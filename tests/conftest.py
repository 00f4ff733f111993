"""Shared test set-up: one torch thread (tiny networks; see docs/getting_started.rst on threads)."""

import torch

torch.set_num_threads(1)
