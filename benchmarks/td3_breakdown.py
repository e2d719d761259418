"""Where the spiking tax of SpikingTD3 goes: actor time per gradient step, by component.

    python benchmarks/td3_breakdown.py                   # Pendulum-v1, net [256, 256], batch 256, T=5
    python benchmarks/td3_breakdown.py --num-steps 8 --gradient-steps 500

Both models are built and warmed up as in ``speed.py`` (replay buffer filled, some training), then SB3's own
``TD3.train`` runs ``--gradient-steps`` steps while every module of the actor and the target actor
is timed (wall clock around its ``forward``; the LIF backward around ``LIFScan.backward``). Rows
are milliseconds per gradient step, so the actor update, which TD3 runs every ``policy_delay``
(2) steps, counts half. Matrix products inside the backward are not split out: they are the
remainder of ``train`` once the rows are subtracted.

This instruments a live training step: the components see the caches the critic and the
optimiser leave behind, which isolated micro-benchmarks (``lif_kernels.py``) do not.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch
from speed import make_models  # benchmarks/ is on sys.path when run as a script
from stable_baselines3 import TD3
from torch import nn

from sb3_spiking.snn import neurons


def instrument(model: TD3, totals: dict[str, float]) -> None:
    """Wrap the forward of the actor, the target actor and their layers with timers."""

    def timed(module: nn.Module, name: str) -> None:
        forward = module.forward

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            out = forward(*args, **kwargs)
            mode = "actor update (grad)" if torch.is_grad_enabled() else "target actor (no grad)"
            totals[f"{mode}: {name}"] += time.perf_counter() - start
            return out

        module.forward = wrapper

    for policy in (model.actor, model.actor_target):
        timed(policy, "whole forward")
        body = policy.mu[0]
        if hasattr(body, "lifs"):  # spiking
            for i, (fc, lif) in enumerate(zip(body.fcs, body.lifs, strict=False)):
                timed(fc, f"layer {i + 1} synapses (Linear)")
                timed(lif, f"layer {i + 1} LIF")
            timed(body.decoder, "decoder")
        else:
            for i, layer in enumerate(m for m in policy.mu if isinstance(m, nn.Linear)):
                timed(layer, f"Linear {i + 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1500)
    parser.add_argument("--gradient-steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    models = make_models(argparse.Namespace(**vars(args), learning_starts=1000, options="{}"))  # speed.py's pair
    for model in models.values():
        model.learn(args.warmup)

    backward = neurons.LIFScan.backward
    results = {}
    for name, model in models.items():
        totals: dict[str, float] = collections.defaultdict(float)
        instrument(model, totals)

        def timed_backward(ctx, grad, _totals=totals):
            start = time.perf_counter()
            out = backward(ctx, grad)
            _totals["actor update (grad): LIF backward (all layers)"] += time.perf_counter() - start
            return out

        neurons.LIFScan.backward = staticmethod(timed_backward)
        try:
            start = time.perf_counter()
            model.train(gradient_steps=args.gradient_steps, batch_size=args.batch_size)
            train = time.perf_counter() - start
        finally:
            neurons.LIFScan.backward = staticmethod(backward)
        results[name] = (train, totals)

    steps = args.gradient_steps
    print(
        f"\n{args.env}, net {args.net_arch}, batch {args.batch_size}, T={args.num_steps}, {args.threads} thread(s), "
        f"{steps} gradient steps after {args.warmup} warm-up steps\n"
    )
    for name, (train, totals) in results.items():
        print(f"| {name}: component | ms per gradient step |")
        print("|---|---|")
        print(f"| `TD3.train`, whole step | {train / steps * 1e3:.2f} |")
        for key, value in sorted(totals.items()):
            print(f"| {key} | {value / steps * 1e3:.3f} |")
        print()
    ann, snn = (results[n][0] for n in models)
    print(f"train step ratio SpikingTD3 / TD3: {snn / ann:.2f}x")


if __name__ == "__main__":
    main()
