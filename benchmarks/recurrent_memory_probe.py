"""Does the LIF membrane alone carry enough memory to recover velocities from positions?

Supervised probe for the recurrent spiking policy's design choice (membrane as the only state, no
recurrent synapses): CartPole-v1 trajectories under random actions; the network sees the two
positions (cart x, pole angle: what CartPoleNoVel-v1 shows) one env step at a time and must output
the two velocities it does not see. Compared:

- ``stateless``: :class:`~sb3_spiking.snn.SpikingMLP`, from rest at every step (what
  ``PPO(SpikingActorCriticPolicy)`` has): it can only guess the velocity from the position;
- ``membrane``: :class:`~sb3_spiking.snn.StatefulSpikingMLP`, membranes carried from step to step
  (``SpikingRecurrentPPO`` with ``recurrent_synapses=False``), trained with backpropagation
  through time;
- ``recurrent``: the same plus recurrent synapses from each layer's spikes onto itself
  (``recurrent_synapses=True``, snnTorch's ``RLeaky``), last spikes carried as state too.

Printed: R^2 of each velocity on held-out trajectories (1 = perfect, 0 = no better than the mean).

    python benchmarks/recurrent_memory_probe.py --num-steps 2 --hidden 64 64 --iters 300
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from sb3_spiking.snn import SpikingMLP, SpikingOptions, StatefulSpikingMLP


def trajectories(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` CartPole segments of ``length`` steps (random actions, restarted on termination,
    so a segment never crosses an episode end): positions ``[n, L, 2]``, velocities ``[n, L, 2]``."""
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    pos, vel = [], []
    obs, _ = env.reset(seed=seed)
    while len(pos) < n:
        seg, done = [], False
        for _ in range(length):
            seg.append(obs)
            obs, _, term, trunc, _ = env.step(int(rng.integers(2)))
            if term or trunc:
                done = True
                break
        if len(seg) == length:
            s = np.array(seg, dtype=np.float32)
            pos.append(s[:, [0, 2]])
            vel.append(s[:, [1, 3]])
        if done:
            obs, _ = env.reset()
    return np.stack(pos), np.stack(vel)


def run(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    p_tr, v_tr = trajectories(args.train_segments, args.length, args.seed)
    p_te, v_te = trajectories(200, args.length, args.seed + 1)
    p_scale, v_scale = p_tr.reshape(-1, 2).std(0), v_tr.reshape(-1, 2).std(0)
    to_t = lambda a, s: torch.as_tensor(a / s, dtype=torch.float32).transpose(0, 1)  # noqa: E731 [L, n, 2]
    x_tr, y_tr, x_te, y_te = to_t(p_tr, p_scale), to_t(v_tr, v_scale), to_t(p_te, p_scale), to_t(v_te, v_scale)
    opts = SpikingOptions(num_steps=args.num_steps, beta=args.beta)
    for name in args.variants:
        if name == "stateless":
            net = SpikingMLP(2, 2, args.hidden, opts)
        else:
            net = StatefulSpikingMLP(2, 2, args.hidden, opts, recurrent_synapses=name == "recurrent")

        def predict(x: torch.Tensor) -> torch.Tensor:
            length, n = x.shape[:2]
            flat = x.reshape(length * n, 2)  # decision-major rows
            out = net(flat) if name == "stateless" else net(flat, net.initial_state(n))[0]  # noqa: B023 (used in this iteration)
            return out.view(length, n, 2)

        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
        start = time.perf_counter()
        for _ in range(args.iters):
            idx = torch.randint(0, x_tr.shape[1], (args.batch,))
            loss = ((predict(x_tr[:, idx]) - y_tr[:, idx]) ** 2)[args.burn_in :].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            err = ((predict(x_te) - y_te) ** 2)[args.burn_in :].mean((0, 1))
            var = y_te[args.burn_in :].var((0, 1))
        r2 = (1 - err / var).numpy()
        print(
            f"{name:10s} T={args.num_steps} beta={args.beta} hidden={args.hidden}: R^2 cart velocity {r2[0]:.3f}, "
            f"pole angular velocity {r2[1]:.3f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-steps", type=int, default=2)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--length", type=int, default=16, help="steps per training sequence")
    parser.add_argument("--burn-in", type=int, default=2, help="first steps of a sequence not scored")
    parser.add_argument("--train-segments", type=int, default=2000)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", default=["stateless", "membrane", "recurrent"])
    run(parser.parse_args())


if __name__ == "__main__":
    main()
