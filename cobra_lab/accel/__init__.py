"""Speed machinery: how to compute per-cell statistics of a batch fast on this device.

Methods (``cobra_lab.methods``) hold the mathematics and call this interface; the scheduling (chunks, CPU
worker threads, per-image sums on a GPU, compiled passes with their eager fallback) lives here, chosen from
an explicit ``Acceleration`` (the run's ``distill.compile`` and ``distill.real_chunk``).
"""
from .settings import Acceleration
from .statistics import cell_gradients, cell_means, class_gradients, embeddings

__all__ = ["Acceleration", "cell_gradients", "cell_means", "class_gradients", "embeddings"]
