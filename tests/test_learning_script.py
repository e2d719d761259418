"""benchmarks/learning.py: periodic evaluation as JSON lines, atomic checkpoints, --resume, --plot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rl_zoo3")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "learning.py"


def _run(tmp_path: Path, *args: str) -> str:
    cmd = [sys.executable, str(SCRIPT), "--env", "Pendulum-v1", "--seeds", "0", "--eval-episodes", "1",
           "--eval-freq", "150", "--out", str(tmp_path / "r.jsonl"), *args]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def _lines(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]


def test_eval_every_n_steps_then_resume_without_retraining(tmp_path: Path) -> None:
    algo = "spiking_td3:learning_starts=100,buffer_size=1000"  # trains from step 100, small checkpoints
    out = _run(tmp_path, "--algos", algo, "--n-timesteps", "300")
    assert "150/300 steps: eval" in out  # progress is printed while it runs
    first = _lines(tmp_path)
    assert [r["timesteps"] for r in first if r["type"] == "eval"] == [150, 300]
    run_dir = tmp_path / "r.jsonl.ckpt" / "spiking_td3_learning_starts=100_buffer_size=1000_Pendulum-v1_s0"
    assert sorted(p.name for p in run_dir.iterdir()) == ["step_300"]
    (run_dir / "step_450.tmp").mkdir()  # a checkpoint interrupted while being written: ignored

    # without --resume an existing checkpoint is not silently overwritten
    command = [sys.executable, str(SCRIPT), "--env", "Pendulum-v1", "--seeds", "0", "--algos", algo, "--eval-freq", "150"]
    command += ["--n-timesteps", "600", "--out", str(tmp_path / "r.jsonl")]
    cmd_fail = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert cmd_fail.returncode != 0 and "--resume" in cmd_fail.stdout + cmd_fail.stderr

    out = _run(tmp_path, "--algos", algo, "--n-timesteps", "600", "--resume", "--plot", str(tmp_path / "c.png"))
    assert "resumed from" in out and "(300 steps)" in out
    rows = _lines(tmp_path)[len(first) :]
    evals = [r["timesteps"] for r in rows if r["type"] == "eval"]
    assert evals == [450, 600]  # nothing before 300 is retrained or re-evaluated
    final = next(r for r in rows if r["type"] == "final")
    assert final["trained_timesteps"] == 600 and final["n_evals"] == 4
    assert 0 < final["energy_ratio"] < 1
    assert (tmp_path / "c.png").stat().st_size > 0
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.endswith(".tmp")) == ["step_600"]

    # a finished run is not rerun
    out = _run(tmp_path, "--algos", algo, "--n-timesteps", "600", "--resume")
    assert "already finished" in out


def test_recurrent_rows_with_vecnormalize_and_the_stateless_control(tmp_path: Path) -> None:
    """A recurrent settings file (zoo ppo_lstm, normalize: True) for the recurrent spiking row, the
    LSTM and the stateless control; resume restores the VecNormalize statistics."""
    hp = str(Path(__file__).resolve().parents[1] / "hyperparams" / "spiking_ppo_lstm.yml")
    args = ["--hyperparams", hp, "--eval-freq", "256"]
    cmd = [sys.executable, str(SCRIPT), "--env", "CartPoleNoVel-v1", "--seeds", "0", "--eval-episodes", "1",
           "--out", str(tmp_path / "r.jsonl"), "--algos", "spiking_ppo_lstm", "spiking_ppo", "ppo_lstm", *args]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    for n in ("256", "512"):
        proc = subprocess.run(
            [*cmd, "--n-timesteps", n, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.count("resumed from") == 3
    finals = {r["label"]: r for r in _lines(tmp_path) if r["type"] == "final" and r["trained_timesteps"] >= 512}
    assert set(finals) == {"spiking_ppo_lstm", "spiking_ppo", "ppo_lstm"}
    assert "lstm_hidden_size" not in finals["spiking_ppo"]["policy_kwargs"]  # the control: no LSTM keys
    assert "num_steps" not in finals["ppo_lstm"]["policy_kwargs"]  # the LSTM: no spiking options
    assert finals["ppo_lstm"]["energy_ratio"] == pytest.approx(1.0)
    assert finals["spiking_ppo_lstm"]["energy_j"] < finals["ppo_lstm"]["energy_j"]
    ckpt = tmp_path / "r.jsonl.ckpt" / "spiking_ppo_lstm_CartPoleNoVel-v1_s0" / "step_512"
    assert (ckpt / "vecnormalize.pkl").is_file()


def test_curves_keep_the_latest_history_of_a_restarted_run() -> None:
    """A run that lost its checkpoints restarts from 0: its older, longer history is replaced."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import learning
    finally:
        sys.path.remove(str(SCRIPT.parent))

    def ev(t, r):
        return dict(type="eval", label="a", env="E", seed=0, timesteps=t, mean_return=r)

    rows = [ev(5, 1.0), ev(10, 2.0), ev(15, 3.0), ev(10, 20.0), ev(5, 10.0), ev(10, 11.0)]
    assert learning.eval_curves(rows, "E") == {"a": {0: {5: 10.0, 10: 11.0}}}
    assert learning.finished_runs([*rows, dict(type="final", label="a", env="E", seed=0)], "E") == {("a", 0)}
