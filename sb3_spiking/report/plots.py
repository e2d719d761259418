"""The report's figures (matplotlib, headless): raster, membrane traces, firing rates, energy."""

from __future__ import annotations

from typing import Any

import numpy as np

from sb3_spiking.snn.recording import LayerRecord

MAX_RASTER_ROWS = 200


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def short_names(names: list[str]) -> dict[str, str]:
    """Layer names without the prefix they all share, keeping at least their last two parts
    (``actor.mu.0.lifs.0`` and ``actor.mu.0.lifs.1`` -> ``lifs.0`` and ``lifs.1``)."""
    parts = [n.split(".") for n in names]
    common = 0
    while all(len(p) > common + 2 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    return {n: ".".join(p[common:]) for n, p in zip(names, parts, strict=True)}


def raster_order(spikes: np.ndarray) -> np.ndarray:
    """Neuron order for a raster of ``spikes [T, N]``: by first spike time, then by spike count
    (most first); neurons that never spiked last."""
    steps = spikes.shape[0]
    fired = spikes > 0
    first = np.where(fired.any(0), fired.argmax(0), steps)
    return np.lexsort((-spikes.sum(0), first))


def plot_raster(layers: dict[str, LayerRecord], title: str, path: str) -> None:
    """One panel per spiking layer: neurons (rows, sorted) x time steps (columns) of one decision."""
    plt = _pyplot()
    lifs = {n: r for n, r in layers.items() if r.kind == "lif" and r.spikes is not None}
    names = short_names(list(lifs))
    fig, axes = plt.subplots(1, len(lifs), figsize=(max(3.2 * len(lifs), 6), 5.2), squeeze=False)
    for ax, (name, rec) in zip(axes[0], lifs.items(), strict=True):
        spikes = rec.spikes[:, 0, :]  # [T, N] of the first sample
        steps, n = spikes.shape
        order = raster_order(spikes)
        shown = order if n <= MAX_RASTER_ROWS else order[np.linspace(0, n - 1, MAX_RASTER_ROWS).astype(int)]
        ax.imshow(spikes[:, shown].T > 0, aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=1)
        ax.set_xticks(range(steps))
        ax.set_xlabel("time step t")
        active = 100.0 * float((spikes.sum(0) > 0).mean())
        sub = f"{n} neurons, {active:.0f}% spiked" + (
            f"\n({MAX_RASTER_ROWS} of them, evenly spaced)" if n > MAX_RASTER_ROWS else ""
        )
        ax.set_title(f"{names[name]}\n{sub}", fontsize=9)
        ax.set_yticks([])
    axes[0][0].set_ylabel("neurons, sorted by first spike")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pick_trace_neurons(rec: LayerRecord, k: int = 4) -> list[int]:
    """Up to ``k`` neurons worth a trace: the most active ones and the silent ones that came
    closest to their threshold."""
    spikes, mem, thr = rec.spikes[:, 0, :], rec.membrane[:, 0, :], rec.threshold
    counts = spikes.sum(0)
    active = [int(i) for i in np.argsort(-counts) if counts[i] > 0][: k // 2]
    silent = np.where(counts == 0)[0]
    closest = [int(i) for i in silent[np.argsort(-(mem[:, silent].max(0) / thr[silent]))]][: k - len(active)]
    return active + closest


def plot_membrane(layers: dict[str, LayerRecord], title: str, path: str) -> None:
    """Membrane traces of a few neurons per spiking layer, threshold dashed, spikes marked; the
    output readout's membrane (non-spiking) in the last panel."""
    plt = _pyplot()
    panels = [(n, r) for n, r in layers.items() if r.membrane is not None]
    names = short_names([n for n, _ in panels])
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 2.3 * len(panels) + 0.6), squeeze=False)
    for ax, (name, rec) in zip(axes[:, 0], panels, strict=True):
        mem = rec.membrane[:, 0, :]
        steps = np.arange(mem.shape[0])
        if rec.kind == "lif":
            for i in pick_trace_neurons(rec):
                (line,) = ax.plot(steps, mem[:, i], marker="o", ms=3, label=f"neuron {i}")
                ax.axhline(rec.threshold[i], color=line.get_color(), ls="--", lw=0.8)
                fired = rec.spikes[:, 0, i] > 0
                ax.plot(steps[fired], mem[fired, i], "^", color=line.get_color(), ms=8)
            ax.set_title(f"{names[name]}: membrane before reset (dashed: threshold, triangles: spikes)", fontsize=9)
        else:
            for i in range(min(mem.shape[1], 6)):
                ax.plot(steps, mem[:, i], marker="o", ms=3, label=f"output {i}")
            ax.set_title(f"{names[name]}: output membrane (non-spiking readout)", fontsize=9)
        ax.set_ylabel("membrane")
        ax.set_xticks(steps)
        ax.legend(fontsize=7, loc="upper left", ncol=3)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time step t")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_firing_rates(layers: dict[str, LayerRecord], title: str, path: str) -> None:
    """Histogram per spiking layer of the neurons' firing rates over the recorded episodes."""
    plt = _pyplot()
    lifs = {n: r for n, r in layers.items() if r.kind == "lif" and r.counts is not None}
    names = short_names(list(lifs))
    cols = min(len(lifs), 3)
    rows = -(-len(lifs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows + 0.6), squeeze=False)
    for ax, (name, rec) in zip(axes.flat, lifs.items(), strict=False):  # the grid may have spare axes
        rates = rec.rates()
        ax.hist(rates, bins=np.linspace(0, 1, 21), color="tab:blue")
        never, always = 100 * float((rates == 0).mean()), 100 * float((rates == 1).mean())
        ax.set_title(
            f"{names[name]} ({rates.size} neurons)\nnever fired {never:.0f}%, every step {always:.0f}%, "
            f"mean {rates.mean():.2f}",
            fontsize=9,
        )
        ax.set_xlabel("firing rate (spikes / step)")
        ax.set_ylabel("neurons")
    for ax in list(axes.flat)[len(lifs) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def layer_energy_pj(layers: dict[str, dict[str, Any]], constants: dict[str, float]) -> dict[str, tuple[float, float]]:
    """``{layer: (accumulate energy, multiply-accumulate energy)}`` in pJ per decision, from an
    :func:`~sb3_spiking.energy_report` ``layers`` breakdown (layers doing no arithmetic left out)."""
    out = {}
    for name, layer in layers.items():
        if layer["kind"] == "neurons":
            continue
        sop = layer.get("synaptic_ops", 0.0) * constants["energy_per_ac_j"] * 1e12
        mac = layer.get("macs", 0.0) * constants["energy_per_mac_j"] * 1e12
        if sop or mac:
            out[name] = (sop, mac)
    return out


def plot_energy(spiking: dict[str, Any], ann: dict[str, Any] | None, title: str, path: str) -> None:
    """Energy per decision by layer: the spiking network (accumulates + MACs) and the ANN twin."""
    plt = _pyplot()
    rows: list[tuple[str, float, float]] = []
    snn = layer_energy_pj(spiking["layers"], spiking["constants"])
    names = short_names(list(snn))
    rows += [(f"SNN {names[n]}", sop, mac) for n, (sop, mac) in snn.items()]
    if ann is not None:
        ann_layers = layer_energy_pj(ann["layers"], ann["constants"])
        ann_names = short_names(list(ann_layers))
        rows += [(f"ANN {ann_names[n]}", sop, mac) for n, (sop, mac) in ann_layers.items()]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.8))
    y = np.arange(len(rows))[::-1]
    sops = np.array([r[1] for r in rows])
    macs = np.array([r[2] for r in rows])
    peak = float((sops + macs).max(initial=0.0))
    unit, scale = next((u, f) for u, f in (("uJ", 1e6), ("nJ", 1e3), ("pJ", 1.0)) if peak >= 10 * f or f == 1.0)
    sops, macs = sops / scale, macs / scale
    ax.barh(y, sops, color="tab:green", label="accumulates (spikes x fan-out), 0.9 pJ each")
    ax.barh(y, macs, left=sops, color="tab:orange", label="multiply-accumulates, 4.6 pJ each")
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.set_xlabel(f"energy per decision ({unit}, 45 nm arithmetic only)")
    total = f"SNN {spiking['energy_j'] * 1e12:.0f} pJ"
    if ann is not None:
        total += f" vs ANN {ann['energy_j'] * 1e12:.0f} pJ (ratio {spiking['energy_j'] / ann['energy_j']:.2f})"
    ax.set_title(f"{title}\n{total}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
