"""Shared test set-up: one torch thread (tiny networks; see DESIGN.md, "Threads")."""

import torch

torch.set_num_threads(1)
