"""Time of one LIF layer over T: the fused scan (``LIF``) against the plain-autograd reference.

    python benchmarks/lif_kernels.py                          # [T, B, N] = [5, 256, 256], atan
    python benchmarks/lif_kernels.py --shape 8 32 512 --surrogate fast_sigmoid

Rows (milliseconds, best of ``--repeats`` blocks of ``--calls`` calls, one torch thread):

- forward without autograd (the target actor / ``predict`` path);
- forward + backward of a ``[T, B, N]`` current (a hidden layer fed by spikes);
- backward only (``torch.autograd.grad`` on a kept graph): the surrogate derivative + the
  recurrence over T;
- forward + backward of a constant ``[B, N]`` current (the first layer of a direct encoder).

The reference is :func:`sb3_spiking.snn.neurons.lif_reference` (one autograd node per op and
time step, snnTorch's surrogate); tests/test_neurons.py checks both give the same values.
"""

from __future__ import annotations

import argparse
import time

import torch

from sb3_spiking.snn.neurons import LIF, lif_reference


def best_ms(fn, calls: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls * 1e3)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=[5, 256, 256], metavar=("T", "B", "N"))
    parser.add_argument("--surrogate", default="atan")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    steps, batch, width = args.shape
    lif = LIF(width, surrogate=args.surrogate)
    beta, thr = lif.neuron_params()

    def fused(current, num_steps=None):
        return lif(current, num_steps)

    def reference(current, num_steps=None):
        constant = num_steps is not None
        return lif_reference(current, beta, thr, num_steps or current.shape[0], lif.spike_fn, constant=constant)

    seq = (torch.randn(steps, batch, width) * 0.8 + 0.5).requires_grad_()
    const = (torch.randn(batch, width) * 0.8 + 0.5).requires_grad_()
    grad = torch.randn(steps, batch, width)
    rows = []
    for name, run in (("fused scan (LIF)", fused), ("autograd reference", reference)):

        def forward_no_grad():
            with torch.no_grad():
                run(seq.detach())  # noqa: B023 (timed within this iteration)

        def forward_backward():
            torch.autograd.grad(run(seq), seq, grad)  # noqa: B023 (timed within this iteration)

        kept = run(seq)

        def backward_only():
            torch.autograd.grad(kept, seq, grad, retain_graph=True)  # noqa: B023 (timed within this iteration)

        def constant_forward_backward():
            torch.autograd.grad(run(const, steps), const, grad)  # noqa: B023 (timed within this iteration)

        rows.append(
            (
                name,
                *(
                    best_ms(f, args.calls, args.repeats)
                    for f in (forward_no_grad, forward_backward, backward_only, constant_forward_backward)
                ),
            )
        )
    print(
        f"\n[T, B, N] = {args.shape}, surrogate {args.surrogate}, {args.threads} torch thread(s), torch {torch.__version__}\n"
    )
    print("| path | forward, no grad (ms) | forward + backward (ms) | backward only (ms) | constant current, fwd + bwd (ms) |")
    print("|---|---|---|---|---|")
    for name, *times in rows:
        print(f"| {name} | " + " | ".join(f"{t:.2f}" for t in times) + " |")


if __name__ == "__main__":
    main()
