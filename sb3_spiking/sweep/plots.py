"""The sweep's figure: final return, energy per decision and batch-1 latency against T."""

from __future__ import annotations

from typing import Any


def plot_sweep(rows: list[dict[str, Any]], algo: str, env_id: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["num_steps"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    ax = axes[0]
    ax.plot(t, [r["mean_return"] for r in rows], marker="o", label="mean over seeds")
    ax.fill_between(t, [r["min_return"] for r in rows], [r["max_return"] for r in rows], alpha=0.2, label="min-max")
    for r in rows:
        ax.scatter([r["num_steps"]] * len(r["returns"]), r["returns"], color="k", s=8, zorder=3)
    ax.set_ylabel("final return (deterministic)")
    ax.set_title("return", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(t, [r["energy_j"] * 1e9 for r in rows], marker="o", label="spiking")
    ax.plot(t, [r["ann_energy_j"] * 1e9 for r in rows], ls="--", color="gray", label="same-shape ANN")
    ax.set_ylabel("energy per decision (nJ, 45 nm)")
    ax.set_title("energy per decision", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(t, [r["latency_us"] for r in rows], marker="o", label="spiking")
    ax.plot(t, [r["ann_latency_us"] for r in rows], ls="--", color="gray", label="ANN twin")
    ax.set_ylabel("batch-1 predict latency (us, this CPU)")
    ax.set_title("decision latency", fontsize=10)
    ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("T (num_steps)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(t)
        ax.set_xticklabels([str(x) for x in t])
        ax.grid(alpha=0.3)
    fig.suptitle(f"T ablation: {algo} on {env_id} ({len(rows[0]['returns'])} seeds per T)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
