"""What exporting a reset_mechanism="subtract" network to NIR (reset-to-zero) changes.

    python benchmarks/nir_reset_mismatch.py

Trains a DSQN (CartPole-v1, 1500 steps) and a SpikingTD3 (Pendulum-v1, 400 steps) briefly with the
default subtractive reset, exports them with ``allow_reset_mismatch=True`` and compares, on 500
observations of random play: the graph's actions against ``predict`` (``metadata["reset_mismatch"]``)
and the hidden spikes of the graph (``simulate``) against the network's own.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import torch as th

from sb3_spiking import DSQN, SpikingTD3
from sb3_spiking.export import simulate, to_nir
from sb3_spiking.snn import LIF
from sb3_spiking.snn.network import numpy_inference_off

FAST = dict(learning_starts=100, batch_size=32, buffer_size=2000, seed=0, device="cpu")


def rollout(env_id: str, n: int, seed: int = 0) -> np.ndarray:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    while len(out) < n:
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    return np.stack(out).astype(np.float32)


def hidden_spikes(owner, body, model, obs) -> list[np.ndarray]:
    spikes = []
    hooks = [m.register_forward_hook(lambda m, i, o: spikes.append(o.numpy())) for m in body.lifs]
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad(), numpy_inference_off(body):
        body(owner.extract_features(obs_t, owner.features_extractor))
    for h in hooks:
        h.remove()
    return spikes


def main() -> None:
    warnings.simplefilter("ignore", UserWarning)
    runs = [
        ("DSQN CartPole-v1 [64, 64] T=5", DSQN, "CartPole-v1", 1500, dict(train_freq=4)),
        ("SpikingTD3 Pendulum-v1 [64, 64] T=5", SpikingTD3, "Pendulum-v1", 400, {}),
    ]
    for name, cls, env_id, steps, extra in runs:
        model = cls("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[64, 64], num_steps=5), **FAST, **extra)
        model.learn(steps)
        obs = rollout(env_id, 500)
        graph = to_nir(model, allow_reset_mismatch=True, observations=obs)
        result = simulate(graph, obs)
        owner, body = (model.q_net, model.q_net.q_net) if cls is DSQN else (model.actor, model.actor.mu[0])
        assert all(isinstance(m, LIF) for m in body.lifs)
        changed = [
            float((ours != result.spikes[f"lif_{i}"]).sum() / max(ours.sum(), 1))
            for i, ours in enumerate(hidden_spikes(owner, body, model, obs))
        ]
        report = graph.metadata["reset_mismatch"]
        print(f"{name}: action agreement {report['action_agreement']:.3f}", end="")
        if "max_abs_action_difference" in report:
            diff = report["max_abs_action_difference"], report["mean_abs_action_difference"]
            print(f" (|a diff| max {diff[0]:.3f}, mean {diff[1]:.4f})", end="")
        print("; hidden spikes that differ / the network's spikes, per layer: " + ", ".join(f"{c:.3f}" for c in changed))


if __name__ == "__main__":
    main()
