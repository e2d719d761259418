"""Export a saved spiking agent to a NIR file.

    # a saved model
    python -m sb3_spiking.export --model x.zip --algo spiking_td3 --out policy.nir
    # from an RL Zoo log folder, found as `rl_zoo3 enjoy` finds it (latest run unless --exp-id;
    # --load-best / --load-checkpoint N / --load-last-checkpoint as enjoy); the run's
    # VecNormalize statistics, if any, go into the graph's pre-processing
    python -m sb3_spiking.export --algo dsqn --env CartPole-v1 -f logs --out policy.nir

``--algo``: one of this package's RL Zoo names (spiking_td3, spiking_ddpg, spiking_sac, dsqn,
spiking_ppo, spiking_a2c) or SB3's ppo / a2c / dqn for a model saved with a spiking policy
(converted DQNs are DSQN models). ``--allow-reset-mismatch`` exports a
``reset_mechanism="subtract"`` model (see :func:`sb3_spiking.export.to_nir`). The written file is
read back with ``nir.read`` and checked against ``predict`` (with :func:`~sb3_spiking.export.simulate`)
before the command reports success.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from typing import Any

import numpy as np

from sb3_spiking.export.nir_graph import NIR_EXTRA, _import_nir, to_nir
from sb3_spiking.export.simulator import read_metadata, simulate

_SB3_ALGOS = {"ppo": "PPO", "a2c": "A2C", "dqn": "DQN"}


def algorithm_class(name: str) -> type:
    """The algorithm class of ``--algo``."""
    from sb3_spiking.zoo.plugin import ZOO_ALGOS
    from sb3_spiking.zoo.plugin import algorithm_class as zoo_class

    if name in ZOO_ALGOS:
        return zoo_class(name)
    if name in _SB3_ALGOS:
        import stable_baselines3

        return getattr(stable_baselines3, _SB3_ALGOS[name])
    raise ValueError(f"Unknown --algo {name!r}; allowed: {', '.join([*ZOO_ALGOS, *_SB3_ALGOS])}")


def zoo_model_path(args: argparse.Namespace) -> tuple[str, str | None]:
    """(model zip, VecNormalize file or None) of an RL Zoo log folder, as ``rl_zoo3 enjoy`` finds them."""
    try:
        from huggingface_sb3 import EnvironmentName
        from rl_zoo3.utils import get_model_path
    except ImportError as exc:
        raise ImportError(
            'Reading an RL Zoo log folder needs rl_zoo3: pip install -e ".[zoo]" (from the sb3-spiking checkout)'
        ) from exc
    _, model_path, log_path = get_model_path(
        args.exp_id,
        args.folder,
        args.algo,
        EnvironmentName(args.env),
        args.load_best,
        args.load_checkpoint,
        args.load_last_checkpoint,
    )
    stats = os.path.join(log_path, args.env, "vecnormalize.pkl")
    return model_path, stats if os.path.isfile(stats) else None


def load_vec_normalize(path: str) -> Any:
    """The statistics of a saved ``VecNormalize`` (its pickle holds no environment)."""
    with open(path, "rb") as f:
        return pickle.load(f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sb3_spiking.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--algo", required=True, help="spiking_td3, spiking_ddpg, spiking_sac, dsqn, spiking_ppo, ...")
    parser.add_argument("--out", required=True, help="the NIR file to write (HDF5)")
    parser.add_argument("--model", default=None, help="a saved model (.zip); else the RL Zoo folder options below")
    parser.add_argument("--env", default=None, help="environment id (RL Zoo folder)")
    parser.add_argument("-f", "--folder", default="logs", help="RL Zoo log folder")
    parser.add_argument("--exp-id", type=int, default=0, help="RL Zoo experiment id (0: latest)")
    parser.add_argument("--load-best", action="store_true")
    parser.add_argument("--load-checkpoint", default=None)
    parser.add_argument("--load-last-checkpoint", action="store_true")
    parser.add_argument("--vecnormalize", default=None, help="a saved VecNormalize (.pkl) to include")
    parser.add_argument("--allow-reset-mismatch", action="store_true", help="export a subtract-reset model anyway")
    args = parser.parse_args(argv)

    _import_nir()
    nir = sys.modules["nir"]
    stats = args.vecnormalize
    if args.model is None:
        if args.env is None:
            parser.error("give --model x.zip, or --env (and -f) to read an RL Zoo log folder")
        model_path, found = zoo_model_path(args)
        stats = stats or found
    else:
        model_path = args.model
    model = algorithm_class(args.algo).load(model_path, device="cpu")
    vec_normalize = load_vec_normalize(stats) if stats else None
    try:
        graph = to_nir(model, allow_reset_mismatch=args.allow_reset_mismatch, vec_normalize=vec_normalize)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    nir.write(args.out, graph)

    # Read the file back and check it against predict.
    back = nir.read(args.out)
    meta = read_metadata(back)
    space = model.observation_space
    space.seed(0)
    obs = np.stack([space.sample() for _ in range(64)])
    expected, _ = model.predict(obs, deterministic=True)
    got = simulate(back, obs).actions
    if meta["postprocess"]["type"] == "box":
        check = f"max |action difference| {float(np.abs(np.asarray(expected) - got).max()):.2e}"
    else:
        check = f"same action on {100 * float(np.mean(np.asarray(expected) == got)):.1f}%"
    normalized = f", VecNormalize {stats}" if stats else ""
    print(f"model:  {model_path} ({meta['algorithm']}, {meta['network']}){normalized}")
    print(f"wrote:  {args.out}: {len(back.nodes)} nodes ({', '.join(back.nodes)})")
    print(
        f"run:    num_steps={meta['num_steps']} dt={meta['dt']} readout={meta['readout']} "
        f"reset_mechanism={meta['reset_mechanism']} exact={meta['exact']}"
    )
    print(f"check:  nir.read + sb3_spiking.export.simulate vs predict on 64 sampled observations: {check}")
    if "reset_mismatch" in meta:
        m = meta["reset_mismatch"]
        agreement = f"{100 * m['action_agreement']:.1f}% ({m['observations']})"
        print(f"reset:  subtract exported as zero: action agreement with predict {agreement}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    try:
        sys.exit(main())
    except ImportError as exc:
        print(f"error: {exc} ({NIR_EXTRA})", file=sys.stderr)
        sys.exit(1)
