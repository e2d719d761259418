"""``spiking_report``: look inside a trained spiking agent (figures + ``report.md``)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_spiking.common.energy import energy_report
from sb3_spiking.common.options import SPIKING_KEYS
from sb3_spiking.report import plots
from sb3_spiking.snn.recording import LayerRecord, SpikeRecorder
from sb3_spiking.snn.validation import check_int

#: Observations kept for the energy figures (evenly spaced over the recorded decisions).
MAX_ENERGY_OBS = 256


def run_episodes(
    model: BaseAlgorithm, env: Any, n_episodes: int, max_steps: int
) -> tuple[dict[str, LayerRecord], Any, list[float]]:
    """Deterministic episodes in ``env`` (a ``VecEnv`` with one env) while recording every spiking
    layer; returns the records, the observations the policy saw and the episode returns."""
    observations, returns, episode_return = [], [], 0.0
    obs = env.reset()
    state, episode_start = None, np.ones(1, dtype=bool)
    with SpikeRecorder(model.policy) as recorder:
        for _ in range(max_steps):
            observations.append(obs)
            action, state = model.predict(obs, state=state, episode_start=episode_start, deterministic=True)
            obs, reward, done, _ = env.step(action)
            episode_return += float(reward[0])
            episode_start = done
            if done[0]:
                returns.append(episode_return)
                episode_return = 0.0
                if len(returns) >= n_episodes:
                    break
    return recorder.layers, _stack(observations), returns


def _stack(observations: list[Any]) -> Any:
    if isinstance(observations[0], dict):
        return {k: np.concatenate([o[k] for o in observations]) for k in observations[0]}
    return np.concatenate(observations)


def _take(observations: Any, index: np.ndarray) -> Any:
    if isinstance(observations, dict):
        return {k: v[index] for k, v in observations.items()}
    return observations[index]


def _count(observations: Any) -> int:
    first = next(iter(observations.values())) if isinstance(observations, dict) else observations
    return len(first)


def ann_twin(model: BaseAlgorithm, env: Any) -> BaseAlgorithm:
    """An untrained model of the same class and network shape with ``spiking=False`` (what the
    spiking network replaces); weights do not matter for its MAC count or latency."""
    policy_kwargs = {k: v for k, v in (model.policy_kwargs or {}).items() if k not in SPIKING_KEYS}
    kwargs: dict[str, Any] = dict(policy_kwargs={**policy_kwargs, "spiking": False}, device="cpu", seed=0)
    if hasattr(model, "replay_buffer"):
        kwargs["buffer_size"] = 1
    return type(model)(model.policy_class, env, **kwargs)


def batch1_latency_us(model: BaseAlgorithm, obs: Any, repeats: int) -> float:
    """Median wall time of ``model.predict`` on one observation (microseconds)."""
    for _ in range(10):
        model.predict(obs, deterministic=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(obs, deterministic=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def _options(model: BaseAlgorithm) -> dict[str, Any]:
    return {k: v for k, v in (model.policy_kwargs or {}).items() if k in SPIKING_KEYS or k == "net_arch"}


def spiking_report(
    model: BaseAlgorithm,
    env: Any,
    out_dir: str,
    name: str | None = None,
    n_episodes: int = 1,
    max_steps: int = 1000,
    latency_repeats: int = 200,
) -> dict[str, Any]:
    """Write ``raster.png``, ``membrane.png``, ``firing_rates.png``, ``energy.png``,
    ``report.md`` and ``report.json`` for ``model`` acting in ``env`` into ``out_dir``.

    - one decision (the first observation of the first episode): every spiking layer's spike
      raster and a few neurons' membrane traces with their thresholds;
    - ``n_episodes`` deterministic episodes (at most ``max_steps`` decisions): each spiking
      layer's distribution of per-neuron firing rates (how many never fire, how many fire at
      every step);
    - energy per decision by layer (:func:`~sb3_spiking.energy_report` on the recorded
      observations, up to 256 of them, saved as ``observations.npz``) against the ANN twin;
    - batch-1 ``predict`` latency of the model and of its ANN twin, measured here.

    :param model: a trained SB3 model with a spiking policy (any algorithm of this package, or
        PPO/A2C with ``SpikingActorCriticPolicy``).
    :param env: a ``VecEnv`` with one environment, as the model saw it (wrappers, normalisation).
    :param name: a title for the figures (default: class and env id).
    :return: the numbers written to ``report.json``.
    """
    n_episodes = check_int("n_episodes", n_episodes)
    max_steps = check_int("max_steps", max_steps)
    latency_repeats = check_int("latency_repeats", latency_repeats)
    if not getattr(model.policy, "spiking", False):
        raise ValueError(f"{type(model).__name__} has no spiking network (spiking=False): nothing to look inside")
    os.makedirs(out_dir, exist_ok=True)
    env_id = env.get_attr("spec")[0].id if env.get_attr("spec")[0] is not None else "env"
    name = name or f"{type(model).__name__} on {env_id}"

    layers, observations, returns = run_episodes(model, env, n_episodes, max_steps)
    if not any(r.kind == "lif" for r in layers.values()):
        raise ValueError(f"{type(model).__name__}'s decision path has no LIF layer to record (neuron='relu'?)")
    first = _take(observations, np.arange(1))
    with SpikeRecorder(model.policy, keep_traces=True) as one:
        model.predict(first, deterministic=True)
    num_steps = next(r.spikes.shape[0] for r in one.layers.values() if r.kind == "lif")
    plots.plot_raster(one.layers, f"Spike raster of one decision: {name} (T={num_steps})", os.path.join(out_dir, "raster.png"))
    plots.plot_membrane(one.layers, f"Membrane traces, same decision: {name}", os.path.join(out_dir, "membrane.png"))
    n_decisions = _count(observations)
    plots.plot_firing_rates(
        layers, f"Per-neuron firing rates over {n_decisions} decisions: {name}", os.path.join(out_dir, "firing_rates.png")
    )

    index = np.unique(np.linspace(0, n_decisions - 1, min(n_decisions, MAX_ENERGY_OBS)).astype(int))
    energy_obs = _take(observations, index)
    np.savez(
        os.path.join(out_dir, "observations.npz"), **(energy_obs if isinstance(energy_obs, dict) else {"obs": energy_obs})
    )
    spiking = energy_report(model, energy_obs)
    try:
        twin = ann_twin(model, env)
        ann = energy_report(twin, energy_obs)
        twin_error = None
    except Exception as exc:  # an algorithm whose ANN twin cannot be built here (e.g. offline data needed)
        twin, ann, twin_error = None, None, f"{type(exc).__name__}: {exc}"
    plots.plot_energy(spiking, ann, f"Energy per decision by layer: {name}", os.path.join(out_dir, "energy.png"))

    latency = {"spiking_us": batch1_latency_us(model, first, latency_repeats)}
    if twin is not None:
        latency["ann_us"] = batch1_latency_us(twin, first, latency_repeats)
        latency["ratio"] = latency["spiking_us"] / latency["ann_us"]

    firing = {}
    for layer, rec in layers.items():
        if rec.kind == "lif":
            rates = rec.rates()
            firing[layer] = dict(
                neurons=int(rates.size),
                mean_rate=float(rates.mean()),
                never_fired=float((rates == 0).mean()),
                every_step=float((rates == 1).mean()),
            )
    result = dict(
        name=name,
        algorithm=type(model).__name__,
        env=env_id,
        options=_options(model),
        num_steps=int(num_steps),
        episodes=len(returns),
        episode_returns=returns,
        decisions=int(n_decisions),
        firing=firing,
        energy=spiking,
        ann_energy=ann,
        ann_twin_error=twin_error,
        latency=latency,
        energy_observations=int(_count(energy_obs)),
    )
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(result, f, indent=2, default=str)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(render_markdown(result))
    return result


def render_markdown(r: dict[str, Any]) -> str:
    """``report.md`` from :func:`spiking_report`'s numbers."""
    e, a, lat = r["energy"], r["ann_energy"], r["latency"]
    names = plots.short_names(list(r["firing"]))
    lines = [
        f"# Inside the spiking agent: {r['name']}",
        "",
        f"- algorithm: `{r['algorithm']}`, environment: `{r['env']}`, T = {r['num_steps']}",
        f"- options: `{r['options']}`",
        f"- recorded: {r['episodes']} deterministic episode(s), {r['decisions']} decisions, "
        f"returns {', '.join(f'{x:.1f}' for x in r['episode_returns']) or '(episode unfinished)'}",
        "",
        "## One decision",
        "",
        "Every spiking layer's spikes over the T time steps (black: spike), neurons sorted by first spike:",
        "",
        "![spike raster](raster.png)",
        "",
        "![membrane traces](membrane.png)",
        "",
        "## Firing rates over the episodes",
        "",
        "| layer | neurons | mean firing rate | never fired | fired at every step |",
        "|---|---|---|---|---|",
    ]
    for layer, f in r["firing"].items():
        lines.append(
            f"| `{names[layer]}` | {f['neurons']} | {f['mean_rate']:.3f} | {100 * f['never_fired']:.1f}% "
            f"| {100 * f['every_step']:.1f}% |"
        )
    lines += [
        "",
        "![firing rates](firing_rates.png)",
        "",
        f"## Energy per decision (`energy_report` on {r['energy_observations']} of the recorded observations)",
        "",
        "| layer | kind | spikes | synaptic ops | MACs |",
        "|---|---|---|---|---|",
    ]
    layer_names = plots.short_names(list(e["layers"]))
    for layer, d in e["layers"].items():
        if d["kind"] == "neurons":
            lines.append(f"| `{layer_names[layer]}` | neurons (firing rate {d['firing_rate']:.3f}) | {d['spikes']:.1f} | | |")
        else:
            lines.append(f"| `{layer_names[layer]}` | {d['kind']} | | {d['synaptic_ops']:.0f} | {d['macs']:.0f} |")
    lines += [
        "",
        f"- spiking: firing rate {e['firing_rate']:.4f}, {e['spikes']:.1f} spikes, {e['synaptic_ops']:.0f} synaptic ops, "
        f"{e['macs']:.0f} MACs: **{e['energy_j'] * 1e12:.1f} pJ** per decision",
        f"- same-shape ANN: {e['ann_macs']:.0f} MACs: **{e['ann_energy_j'] * 1e12:.1f} pJ**; energy ratio "
        f"**{e['energy_ratio']:.3f}** (0.9 pJ per accumulate, 4.6 pJ per MAC, 45 nm; arithmetic only)",
    ]
    if a is not None:
        lines.append(f"- the ANN twin model (`spiking=False`), measured: {a['macs']:.0f} MACs, {a['energy_j'] * 1e12:.1f} pJ")
    else:
        lines.append(f"- ANN twin: not built ({r['ann_twin_error']})")
    lines += ["", "![energy by layer](energy.png)", "", "## Decision latency (batch 1, `predict`, this machine)", ""]
    lines.append(f"- spiking: {lat['spiking_us']:.0f} us")
    if "ann_us" in lat:
        lines.append(f"- ANN twin: {lat['ann_us']:.0f} us (spiking / ANN: {lat['ratio']:.2f}x)")
    lines.append("")
    return "\n".join(lines)
