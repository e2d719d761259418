"""The robustness plot: mean return against the FGSM epsilon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def plot_robustness(curves: Mapping[str, Mapping[float, Sequence[float]]], path: str, title: str = "") -> None:
    """Write a PNG of mean return (+- std over the given values: episodes or seeds) vs epsilon.

    :param curves: label -> {epsilon: returns}.
    :param path: output file.
    :param title: plot title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        eps = sorted(curve)
        mean = np.array([np.mean(curve[e]) for e in eps])
        std = np.array([np.std(curve[e]) for e in eps])
        ax.plot(eps, mean, marker="o", label=label)
        ax.fill_between(eps, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("FGSM epsilon (L-inf, observation units)")
    ax.set_ylabel("mean return")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
