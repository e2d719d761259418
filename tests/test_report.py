"""Looking inside agents: SpikeRecorder, the report command, SpikeStatsCallback per layer, the T sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th

from sb3_spiking import DSQN, SpikeStatsCallback, SpikingTD3, energy_report
from sb3_spiking.snn import SpikingMLP, SpikingOptions
from sb3_spiking.snn.neurons import lif_reference
from sb3_spiking.snn.recording import SpikeRecorder

pytest.importorskip("rl_zoo3")
pytest.importorskip("matplotlib")

ZOO_MAIN = "import sys; from rl_zoo3.cli import main; sys.argv[0] = 'rl_zoo3'; sys.exit(main())"


def _python(args: list[str], cwd: Path, timeout: int = 600) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_recorder_counts_and_traces_match_the_network():
    net = SpikingMLP(3, 2, [16, 8], SpikingOptions(num_steps=4))
    x = th.randn(5, 3)
    with SpikeRecorder(net, keep_traces=True) as rec:
        with th.no_grad():
            out = net(x)
    assert th.allclose(out, net(x))  # recording changes nothing
    first = rec.layers["lifs.0"]
    assert first.spikes.shape == (4, 5, 16) and first.samples == 5 and first.steps == 20
    np.testing.assert_allclose(first.counts, first.spikes.sum((0, 1)))
    # the recorded membrane is the recurrence's: spikes exactly where it crosses the threshold
    np.testing.assert_array_equal(first.spikes > 0, first.membrane > first.threshold)
    current = net.fcs[0](net.encoder(x)).detach()
    lif = net.lifs[0]
    ref = lif_reference(current, lif.beta, lif.threshold, 4, lif.spike_fn, constant=True)
    np.testing.assert_array_equal(first.spikes, ref.numpy())
    assert rec.layers["decoder.readout"].membrane.shape == (4, 5, 2)
    assert 0.0 <= first.rates().min() and first.rates().max() <= 1.0


def test_report_command_for_spiking_td3_from_a_zoo_folder(tmp_path: Path) -> None:
    train = [
        "-c",
        ZOO_MAIN,
        "train",
        "--algo",
        "spiking_td3",
        "--env",
        "Pendulum-v1",
        "-n",
        "300",
        "-f",
        "logs",
        "--seed",
        "0",
    ]
    _python([*train, "-params", "learning_starts:100", "policy_kwargs:dict(net_arch=[32, 32], num_steps=4)"], tmp_path)
    out = _python(["-m", "sb3_spiking.report", "--algo", "spiking_td3", "--env", "Pendulum-v1", "-f", "logs",
                   "--out", "rep", "--latency-repeats", "10"], tmp_path)  # fmt: skip
    assert "wrote rep/report.md" in out
    rep = tmp_path / "rep"
    for name in ("raster.png", "membrane.png", "firing_rates.png", "energy.png", "report.md"):
        assert (rep / name).stat().st_size > 0, name
    result = json.loads((rep / "report.json").read_text())
    assert result["num_steps"] == 4 and result["decisions"] == 200  # one Pendulum episode
    assert set(result["firing"]) == {"actor.mu.0.lifs.0", "actor.mu.0.lifs.1"}
    # the numbers of report.md are energy_report's on the same observations
    model = SpikingTD3.load(tmp_path / "logs" / "spiking_td3" / "Pendulum-v1_1" / "Pendulum-v1.zip", device="cpu")
    obs = np.load(rep / "observations.npz")["obs"]
    expected = energy_report(model, obs)
    assert result["energy"]["energy_j"] == pytest.approx(expected["energy_j"], rel=1e-9)
    text = (rep / "report.md").read_text()
    assert f"**{expected['energy_j'] * 1e12:.1f} pJ**" in text and f"**{expected['energy_ratio']:.3f}**" in text
    assert "ANN twin" in text and result["latency"]["ann_us"] > 0


def test_report_for_a_dsqn_cnn_policy(tmp_path: Path) -> None:
    """The spiking Nature CNN: a raster panel per conv layer with T columns."""
    from gymnasium import spaces
    from stable_baselines3.common.envs import IdentityEnv
    from stable_baselines3.common.vec_env import DummyVecEnv

    from sb3_spiking.report import spiking_report

    class ImageEnv(IdentityEnv):
        def __init__(self):
            super().__init__(space=spaces.Discrete(3), ep_length=20)
            self.observation_space = spaces.Box(0, 255, (36, 36, 1), np.uint8)

        def _get_obs(self):
            return np.full((36, 36, 1), 80 * self.state, np.uint8)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self._get_obs(), {}

        def step(self, action):
            _, reward, terminated, truncated, info = super().step(action)
            return self._get_obs(), reward, terminated, truncated, info

    model = DSQN("CnnPolicy", DummyVecEnv([ImageEnv]), buffer_size=100, learning_starts=10, seed=0, device="cpu",
                 policy_kwargs=dict(num_steps=3, net_arch=[32]))  # fmt: skip
    model.learn(30)
    result = spiking_report(model, model.get_env(), str(tmp_path), latency_repeats=5)
    assert sum(".conv_lifs." in name for name in result["firing"]) == 3 and len(result["firing"]) >= 4
    assert result["num_steps"] == 3 and result["energy"]["energy_j"] > 0
    assert (tmp_path / "raster.png").stat().st_size > 0


def test_report_refuses_an_ann(tmp_path: Path) -> None:
    from sb3_spiking.report import spiking_report

    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(spiking=False), buffer_size=10, device="cpu")
    with pytest.raises(ValueError, match="spiking=False"):
        spiking_report(model, model.get_env(), str(tmp_path))


def test_spike_stats_callback_logs_per_layer_in_a_short_run(tmp_path: Path) -> None:
    from stable_baselines3.common.logger import configure

    model = SpikingTD3("MlpPolicy", "Pendulum-v1", learning_starts=100, buffer_size=500, seed=0, device="cpu",
                       policy_kwargs=dict(net_arch=[32, 16]))  # fmt: skip
    model.set_logger(configure(str(tmp_path), ["csv", "tensorboard"]))
    callback = SpikeStatsCallback()  # defaults: the first measurement at the first step
    model.learn(300, callback=callback, log_interval=1)
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert "spiking/firing_rate" in header
    assert {"spiking/firing_rate/actor.mu.0.lifs.0", "spiking/firing_rate/actor.mu.0.lifs.1"} <= set(header)
    assert not any("firing_rate_hist" in h for h in header)  # histograms go to TensorBoard only
    rates = callback.last_report["neuron_rates"]["actor.mu.0.lifs.0"]
    assert rates.shape == (32,)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next(tmp_path.glob("events.out.tfevents.*"))), size_guidance={"histograms": 0}).Reload()
    assert "spiking/firing_rate_hist/actor.mu.0.lifs.0" in events.Tags()["histograms"]


def test_sweep_command_trains_each_T_and_resumes(tmp_path: Path) -> None:
    args = ["-m", "sb3_spiking.sweep", "--algo", "spiking_td3", "--env", "Pendulum-v1", "--num-steps", "1", "3",
            "--seeds", "0", "--n-timesteps", "250", "--out", "sw", "--eval-episodes", "1", "--latency-repeats", "5",
            "-params", "learning_starts:100", "buffer_size:1000"]  # fmt: skip
    out = _python(args, tmp_path)
    results = [json.loads(line) for line in (tmp_path / "sw" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["num_steps"] for r in results) == [1, 3]
    assert results[0]["energy_j"] < results[1]["energy_j"]  # more time steps, more spikes
    assert "| 3 |" in (tmp_path / "sw" / "sweep.md").read_text()
    assert (tmp_path / "sw" / "sweep.png").stat().st_size > 0
    assert "T=3 seed 0] return" in out
    config = next((tmp_path / "sw" / "runs" / "T3_seed0").glob("spiking_td3/*/Pendulum-v1/config.yml")).read_text()
    assert "num_steps': 3" in config or "num_steps=3" in config or "num_steps: 3" in config
    out = _python(args, tmp_path)  # resumed: nothing retrained
    assert "2 of 2 runs already done, 0 to go" in out
