"""The T ablation as one command: ``python -m sb3_spiking.sweep --algo spiking_td3 --env Pendulum-v1
--num-steps 1 2 4 8 --seeds 0 1 2 --n-timesteps 20000 --jobs 2 --out DIR``.

Every (T, seed) is trained by ``rl_zoo3 train`` with the settings it would use for that algorithm
and env (only ``num_steps`` changed), then evaluated; ``DIR/results.jsonl`` (one line per run),
``DIR/sweep.md`` (table) and ``DIR/sweep.png`` (return, energy and latency against T).
"""

from sb3_spiking.sweep.sweep import markdown_table, run_sweep, summarize

__all__ = ["markdown_table", "run_sweep", "summarize"]
