"""RL Zoo integration: the documented ``rl_zoo3`` commands, run as a user would (subprocesses).

Budgets are tiny: these check that every command works for every spiking algorithm, not that
anything learns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("rl_zoo3")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ZOO = str(BIN / "rl_zoo3") if (BIN / "rl_zoo3").exists() else shutil.which("rl_zoo3")

#: algo, env, extra train arguments (learning_starts lowered so a few updates happen)
CASES = [
    ("spiking_td3", "Pendulum-v1", ["-params", "learning_starts:100"]),
    ("spiking_ddpg", "Pendulum-v1", ["-params", "learning_starts:100"]),
    ("spiking_sac", "Pendulum-v1", ["-params", "learning_starts:100"]),
    ("dsqn", "CartPole-v1", ["-params", "learning_starts:100", "train_freq:64", "gradient_steps:8"]),
    ("spiking_qrdqn", "CartPole-v1", ["-params", "learning_starts:100", "train_freq:64", "gradient_steps:8"]),
    ("spiking_tqc", "Pendulum-v1", ["-params", "learning_starts:100"]),
    ("spiking_ppo", "CartPole-v1", []),
    ("spiking_a2c", "CartPole-v1", []),
    ("spiking_ppo_lstm", "CartPoleNoVel-v1", []),
]


def _env(own_install: bool = False) -> dict[str, str]:
    """The environment of a subprocess; ``own_install``: for another interpreter that has its own
    install of the package (a PYTHONPATH to a checkout would shadow it)."""
    env = dict(os.environ, MPLBACKEND="Agg", MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"), OMP_NUM_THREADS="1")
    env.pop("SB3_SPIKING_NO_ZOO_HOOK", None)
    if own_install:
        env.pop("PYTHONPATH", None)
    return env


def run(
    args: list[str],
    cwd: Path,
    check: bool = True,
    timeout: int = 600,
    python: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    if python is None:
        assert ZOO is not None, "the rl_zoo3 command is not installed"
        cmd = [ZOO, *args]
    else:  # what the rl_zoo3 console script does, with another interpreter
        cmd = [
            python,
            "-c",
            "import sys; from rl_zoo3.cli import main; sys.argv[0] = 'rl_zoo3'; sys.exit(main())",
            *args,
        ]
    env = dict(_env(own_install=python is not None), **(extra_env or {}))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"`rl_zoo3 {' '.join(args)}` failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


@pytest.mark.parametrize("algo,env_id,extra", CASES, ids=[c[0] for c in CASES])
def test_zoo_commands(algo: str, env_id: str, extra: list[str], tmp_path: Path) -> None:
    """train, enjoy, record_video, plot_train and a 2-worker Optuna run, without -conf."""
    n = "512" if algo in ("spiking_ppo", "spiking_a2c", "spiking_ppo_lstm") else "300"
    out = run(["train", "--algo", algo, "--env", env_id, "-n", n, "-f", "logs", "--seed", "0", *extra], tmp_path)
    # Our own hyperparameter file was used (no -conf), not rl_zoo3's.
    assert f"hyperparams/{algo}.yml" in out.stdout.replace(os.sep, "/")
    run_dir = tmp_path / "logs" / algo / f"{env_id}_1"
    assert (run_dir / f"{env_id}.zip").is_file()
    config = (run_dir / env_id / "config.yml").read_text()
    assert "num_steps" in config  # the spiking options are part of the saved settings

    out = run(["enjoy", "--algo", algo, "--env", env_id, "-f", "logs", "-n", "60", "--no-render"], tmp_path)
    assert "Loading" in out.stdout

    run(["record_video", "--algo", algo, "--env", env_id, "-f", "logs", "-n", "40"], tmp_path)
    assert list((run_dir / "videos").glob("*.mp4")), "record_video wrote no video"

    run(["plot_train", "--algo", algo, "--env", env_id, "-f", "logs"], tmp_path)

    out = run(
        [
            "train",
            "--algo",
            algo,
            "--env",
            env_id,
            "-n",
            "200",
            "-optimize",
            "--n-trials",
            "2",
            "--n-jobs",
            "2",
            "--storage",
            "logs/tune.log",
            "--study-name",
            f"t_{algo}",
            "--n-evaluations",
            "1",
            "--eval-episodes",
            "1",
            # RecurrentPPO replays its sequences step by step: with the 8 envs of the entry and the
            # sampler's largest n_steps (2048) a trial needed over 10 minutes here
            *(["-params", "n_envs:1"] if algo == "spiking_ppo_lstm" else []),
        ],
        tmp_path,
    )
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "logs" / "tune.log")))
    trials = optuna.load_study(study_name=f"t_{algo}", storage=storage).trials
    assert len(trials) == 2
    for trial in trials:
        assert trial.state.name in ("COMPLETE", "PRUNED"), trial
        assert {"num_steps", "encoder", "decoder", "beta", "threshold"} <= set(trial.params)


def test_unknown_algo_lists_spiking_ones(tmp_path: Path) -> None:
    proc = run(["train", "--algo", "spiking_tdd3", "--env", "Pendulum-v1"], tmp_path, check=False)
    assert proc.returncode == 2
    for name in (
        "spiking_td3",
        "spiking_ddpg",
        "spiking_sac",
        "dsqn",
        "spiking_ppo",
        "spiking_a2c",
        "spiking_qrdqn",
        "spiking_tqc",
        "spiking_ppo_lstm",
    ):
        assert name in proc.stderr


def test_unknown_spiking_option_in_file_names_key_and_file(tmp_path: Path) -> None:
    conf = tmp_path / "bad_hyperparams.yml"
    conf.write_text(
        textwrap.dedent("""\
        Pendulum-v1:
          n_timesteps: 100
          policy: 'MlpPolicy'
          policy_kwargs: "dict(net_arch=[32], num_step=4)"
        """)
    )
    proc = run(
        ["train", "--algo", "spiking_td3", "--env", "Pendulum-v1", "-conf", str(conf), "-f", "logs"],
        tmp_path,
        check=False,
    )
    assert proc.returncode != 0
    assert "num_step" in proc.stderr and "bad_hyperparams.yml" in proc.stderr
    assert "Traceback" not in proc.stderr.split("ValueError")[-1]


def test_plain_python_startup_imports_neither_torch_nor_rl_zoo3() -> None:
    code = (
        "import sys; print(sorted(m for m in ('torch', 'rl_zoo3', 'stable_baselines3', 'typing') if m in sys.modules)); "
        "print(repr(sys.meta_path[0]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == "[]", f"start-up imported {lines[0]}"
    assert "sb3_spiking.zoo" in lines[1], "the sb3-spiking start-up hook (.pth) is not installed"


def test_wheel_install_registers_without_user_action(tmp_path: Path) -> None:
    """A normal (non-editable) install: the wheel carries the start-up hook and the
    hyperparameter files, and `rl_zoo3 train` works in a venv that has only that wheel of ours."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)], check=True, timeout=600
    )
    (wheel,) = wheels.glob("sb3_spiking-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "sb3_spiking_zoo.pth" in names
    assert "sb3_spiking/zoo/hyperparams/spiking_td3.yml" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)], check=True)
    # Dependencies (torch, SB3, rl_zoo3, ...) from this environment, added as a plain path entry:
    # its own .pth files (our editable install among them) are not processed.
    deps = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "zz_test_deps.pth").write_text(deps + "\n")
    check = subprocess.run(
        [python, "-c", "import sb3_spiking, sys; print(sb3_spiking.__file__); print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(own_install=True),
        cwd=tmp_path,  # not the repository: its sb3_spiking/ would shadow the installed one
    ).stdout.split()
    assert check[0].startswith(site) and check[1] == "False"
    out = run(["train", "--algo", "spiking_td3", "--env", "Pendulum-v1", "-n", "200", "-f", "logs"], tmp_path, python=python)
    assert "sb3_spiking/zoo/hyperparams/spiking_td3.yml" in out.stdout.replace(os.sep, "/")


#: Heartbeat settings of the dead-worker tests: a heartbeat every second, stale after 2 s.
HEARTBEAT_ENV = {"SB3_SPIKING_HEARTBEAT_INTERVAL": "1", "SB3_SPIKING_GRACE_PERIOD": "2", "SB3_SPIKING_MAX_RETRY": "3"}


def _tune_args(storage: str, study: str, n_timesteps: int, n_trials: int, n_evaluations: int = 1) -> list[str]:
    return [
        "train",
        "--algo",
        "spiking_td3",
        "--env",
        "Pendulum-v1",
        "-n",
        str(n_timesteps),
        "-optimize",
        "--n-trials",
        str(n_trials),
        "--storage",
        storage,
        "--study-name",
        study,
        "--n-evaluations",
        str(n_evaluations),
        "--eval-episodes",
        "1",
        "-params",
        "learning_starts:100",
        "-f",
        "logs",
        "--n-startup-trials",
        "10",
        "--no-optim-plots",
    ]


def _start_worker(args: list[str], cwd: Path, seed: int) -> subprocess.Popen:
    assert ZOO is not None
    return subprocess.Popen(
        [ZOO, *args, "--seed", str(seed)],
        cwd=cwd,
        env=dict(_env(), **HEARTBEAT_ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _trials(storage: str, study: str) -> list:
    import optuna

    try:
        return optuna.load_study(study_name=study, storage=storage).trials
    except KeyError:  # study not created yet
        return []


def _wait_running(storage: str, study: str, n: int, workers: list[subprocess.Popen], timeout: float = 300) -> list:
    """Poll until ``n`` trials are RUNNING at once, done sampling (``proxy_target``, the last
    parameter of spiking_td3's sampler, is set): training. Returns the trials then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.3)
        trials = _trials(storage, study)
        if sum(t.state.name == "RUNNING" and "proxy_target" in t.params for t in trials) >= n:
            return trials
        for w in workers:
            if w.poll() is not None:
                raise AssertionError(f"a worker exited before {n} trials ran at once:\n{w.communicate()[0][-4000:]}")
    raise AssertionError(f"no {n} trials ran at once within {timeout} s")


def _check_killed_trial_was_retried(trials: list) -> None:
    """Exactly one trial FAIL (the killed worker's), retried with its parameters by a trial that
    finished; nothing left RUNNING or WAITING."""
    import optuna

    # Optuna >= 4.9: RetryHeartbeatStaleTrialCallback (RetryFailedTrialCallback, its old name, an alias)
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", optuna.storages.RetryFailedTrialCallback)
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states and "WAITING" not in states, states
    (failed,) = [t for t in trials if t.state.name == "FAIL"]
    retries = [t for t in trials if retry.retried_trial_number(t) == failed.number]
    assert len(retries) == 1, states
    assert retries[0].state.name in ("COMPLETE", "PRUNED"), retries[0]
    assert "proxy_target" in failed.params and retries[0].params == failed.params


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_dead_worker_trial_is_failed_and_retried_on_sqlite(tmp_path: Path) -> None:
    """kill -9 a real worker mid-trial: the next worker (SQLite RDB storage, heartbeats on by
    default for spiking algorithms) fails that trial and runs it again with the same parameters."""
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    study = "dead_worker"
    doomed = _start_worker(_tune_args(url, study, 100_000, 1), tmp_path, 0)
    try:
        (trial,) = _wait_running(url, study, 1, [doomed])
        doomed.kill()  # SIGKILL: no clean-up, no last write
        doomed.wait(timeout=60)
    finally:
        doomed.kill()
    time.sleep(2.5)  # past the grace period (2 s)
    assert [t.state.name for t in _trials(url, study)] == ["RUNNING"]  # nobody noticed yet
    out = run(_tune_args(url, study, 150, 1), tmp_path, check=False, extra_env=HEARTBEAT_ENV)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    trials = _trials(url, study)
    assert trials[0].number == trial.number and trials[0].state.name == "FAIL", trials[0]
    _check_killed_trial_was_retried(trials)
    assert len(trials) == 2  # the new worker's one trial was the retry
    assert "heartbeat every 1 s" in out.stdout


POSTGRES_URL = os.environ.get("SB3_SPIKING_TEST_POSTGRES_URL")


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.skipif(not POSTGRES_URL, reason="set SB3_SPIKING_TEST_POSTGRES_URL (CI starts a PostgreSQL server)")
def test_distributed_tuning_on_postgres_survives_a_killed_worker(tmp_path: Path) -> None:
    """Two workers share a study on PostgreSQL; one is killed (SIGKILL) mid-trial. The survivor
    finishes, its trial is failed within the grace period and retried with the same parameters
    (by the survivor, or by a worker that joins later), and no trial is left RUNNING."""
    assert POSTGRES_URL is not None
    study = f"dist_{os.getpid()}_{int(time.time())}"
    args = _tune_args(POSTGRES_URL, study, 200, 2, n_evaluations=2)
    workers = [_start_worker(args, tmp_path, i) for i in range(2)]
    try:
        trials = _wait_running(POSTGRES_URL, study, 2, workers)
        running = {t.number for t in trials if t.state.name == "RUNNING" and "proxy_target" in t.params}
        workers[0].kill()
        workers[0].wait(timeout=60)
        out, _ = workers[1].communicate(timeout=600)
    finally:
        for worker in workers:
            worker.kill()
    assert workers[1].returncode == 0, out[-4000:]

    states = [t.state.name for t in _trials(POSTGRES_URL, study)]
    assert "RUNNING" not in states, states  # the killed worker's trial was noticed
    assert states.count("FAIL") == 1, states
    print("retry run by", "a third worker" if "WAITING" in states else "the surviving worker")
    if "WAITING" in states:
        # the survivor noticed the dead trial only when it exited (its last trial had started
        # within the grace period): the retry waits for the next worker; one joins and runs it
        assert "retry trials of a dead worker and are waiting" in out
        run(_tune_args(POSTGRES_URL, study, 150, 1), tmp_path, extra_env=HEARTBEAT_ENV)
    trials = _trials(POSTGRES_URL, study)
    _check_killed_trial_was_retried(trials)
    (failed,) = [t for t in trials if t.state.name == "FAIL"]
    assert failed.number in running  # the trial that ran on the killed worker
    assert len(trials) == 1 + 2 + states.count("WAITING"), [t.state.name for t in trials]


# ------------------------------------------------------------------------------------------
# In-process checks of the plugin pieces (fast)
# ------------------------------------------------------------------------------------------
def test_registered_in_process() -> None:
    from rl_zoo3 import enjoy, record_video  # noqa: F401  (record_video: a script module)
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
    from rl_zoo3.utils import ALGOS

    from sb3_spiking import (
        DSQN,
        SpikingA2C,
        SpikingDDPG,
        SpikingPPO,
        SpikingQRDQN,
        SpikingRecurrentPPO,
        SpikingSAC,
        SpikingTD3,
        SpikingTQC,
    )

    expected = {
        "spiking_td3": SpikingTD3,
        "spiking_ddpg": SpikingDDPG,
        "spiking_sac": SpikingSAC,
        "dsqn": DSQN,
        "spiking_ppo": SpikingPPO,
        "spiking_a2c": SpikingA2C,
        "spiking_qrdqn": SpikingQRDQN,
        "spiking_tqc": SpikingTQC,
        "spiking_ppo_lstm": SpikingRecurrentPPO,
    }
    for name, cls in expected.items():
        assert ALGOS[name] is cls
        assert name in HYPERPARAMS_SAMPLER and name in HYPERPARAMS_CONVERTER
    # enjoy's hard-coded off-policy list now names ours (-> 1-transition buffer when enjoying)
    consts = [c for c in enjoy.enjoy.__code__.co_consts if isinstance(c, tuple) and "td3" in c]
    assert consts and all({"spiking_td3", "spiking_sac", "dsqn", "spiking_qrdqn", "spiking_tqc"} <= set(c) for c in consts)
    assert "spiking_ppo" not in consts[0]
    assert ALGOS["td3"].__name__ == "TD3"  # the zoo's own entries are untouched


def test_extend_off_policy_lists_leaves_other_constants() -> None:
    from sb3_spiking.zoo.plugin import extend_off_policy_lists

    src = (
        "def f(a):\n    d = {'a2c': 1, 'dqn': 2, 'ppo': 3, 'sac': 4, 'td3': 5}\n"
        "    return a in ['dqn', 'sac', 'td3', 'tqc'], d\n"
    )
    ns: dict = {}
    exec(extend_off_policy_lists(compile(src, "x", "exec")), ns)
    assert ns["f"]("spiking_td3")[0] and not ns["f"]("spiking_ppo")[0]
    assert ns["f"]("x")[1] == {"a2c": 1, "dqn": 2, "ppo": 3, "sac": 4, "td3": 5}


@pytest.mark.parametrize(
    "algo",
    [
        "spiking_td3",
        "spiking_sac",
        "dsqn",
        "spiking_ppo",
        "spiking_a2c",
        "spiking_ddpg",
        "spiking_qrdqn",
        "spiking_tqc",
        "spiking_ppo_lstm",
    ],
)
def test_sampler_and_converter_cover_spiking_options(algo: str) -> None:
    import optuna
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    sampled = HYPERPARAMS_SAMPLER[algo](trial, 1, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
    pk = sampled["policy_kwargs"]
    assert {"num_steps", "encoder", "decoder", "beta", "threshold", "net_arch"} <= set(pk)
    assert ("membrane_readout" in pk) == (pk["decoder"] == "membrane")
    from sb3_spiking import SpikingOptions

    SpikingOptions(**{k: v for k, v in pk.items() if k in SpikingOptions.field_names()})  # valid
    converted = HYPERPARAMS_CONVERTER[algo](dict(trial.params))
    for key in ("num_steps", "encoder", "decoder", "beta", "threshold"):
        assert converted["policy_kwargs"][key] == pk[key]
        assert key not in converted


@pytest.mark.parametrize("algo", ["spiking_qrdqn", "spiking_tqc"])
def test_distributional_samplers_keep_the_zoo_quantile_parameters(algo: str) -> None:
    """The zoo's QR-DQN/TQC samplers tune n_quantiles (TQC also the dropped top quantiles); ours
    keeps them next to the spiking options, and the converter puts them back the same way."""
    import optuna
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER

    trial = optuna.create_study(direction="maximize").ask()
    sampled = HYPERPARAMS_SAMPLER[algo](trial, 1, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
    assert "n_quantiles" in sampled["policy_kwargs"] and "n_quantiles" not in sampled
    assert ("top_quantiles_to_drop_per_net" in sampled) == (algo == "spiking_tqc")
    converted = HYPERPARAMS_CONVERTER[algo](dict(trial.params))
    assert converted["policy_kwargs"]["n_quantiles"] == sampled["policy_kwargs"]["n_quantiles"]
    assert converted["policy_kwargs"]["num_steps"] == sampled["policy_kwargs"]["num_steps"]


def test_sampler_keeps_direct_encoder_for_images() -> None:
    import optuna

    from sb3_spiking.zoo.hyperparams_opt import sample_spiking_params

    study = optuna.create_study()
    for _ in range(10):
        assert sample_spiking_params(study.ask(), image_observations=True)["encoder"] == "direct"


@pytest.mark.parametrize(
    "hyperparams,message",
    [
        ({"policy_kwargs": "dict(num_step=4)"}, "unknown key 'num_step'"),
        ({"policy_kwargs": {"encoder": "poisson"}}, "encoder='poisson'"),
        ({"num_steps": 4}, "put it inside policy_kwargs"),
        ({"policy": "CnnPolicy", "policy_kwargs": "dict(net_arch=[64], num_steps=0)"}, "num_steps must be an int >= 1"),
    ],
)
def test_check_hyperparams_names_key_and_file(hyperparams: dict, message: str) -> None:
    from sb3_spiking.zoo.plugin import check_hyperparams

    with pytest.raises(ValueError, match=r"my_file\.yml") as info:
        check_hyperparams(dict(hyperparams), "dsqn", "CartPole-v1", "my_file.yml")
    assert message in str(info.value)


def test_check_hyperparams_accepts_shipped_files() -> None:
    import yaml
    from rl_zoo3 import exp_manager

    from sb3_spiking.zoo.plugin import ZOO_ALGOS, check_hyperparams, default_config

    for algo in ZOO_ALGOS:
        path = default_config(algo)
        entries = yaml.safe_load(Path(path).read_text())
        assert entries, path
        for env_id, hyperparams in entries.items():
            check_hyperparams(dict(hyperparams), algo, env_id, path, vars(exp_manager))


CONFIGS = sorted((REPO / "zoo_configs").glob("*/*.yml"))


def test_offline_spiking_bcq_trains_and_enjoys_through_the_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rl_zoo3 train/enjoy with --algo spiking_bcq on a tiny Minari dataset; a missing dataset
    names the command that creates it."""
    from stable_baselines3 import TD3

    from sb3_spiking.offline import collect_dataset

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))  # _env() passes it on
    collect_dataset(
        TD3("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs=dict(net_arch=[8])), "Pendulum-v1", 300, "pendulum/zoo-v0"
    )
    conf = tmp_path / "bcq.yml"
    conf.write_text(
        "Pendulum-v1:\n  n_timesteps: 60\n  policy: MlpPolicy\n  dataset: pendulum/zoo-v0\n  batch_size: 32\n"
        "  policy_kwargs: \"dict(net_arch=[16], vae_arch=[16], encoder='learnable', decoder='learnable', num_steps=2)\"\n"
    )
    run(
        [
            "train",
            "--algo",
            "spiking_bcq",
            "--env",
            "Pendulum-v1",
            "-conf",
            str(conf),
            "-f",
            "logs",
            "--eval-freq",
            "30",
            "--eval-episodes",
            "1",
        ],
        tmp_path,
    )
    assert (tmp_path / "logs" / "spiking_bcq" / "Pendulum-v1_1" / "Pendulum-v1.zip").is_file()
    out = run(["enjoy", "--algo", "spiking_bcq", "--env", "Pendulum-v1", "-f", "logs", "-n", "210", "--no-render"], tmp_path)
    assert "Mean reward" in out.stdout
    missing = run(["train", "--algo", "spiking_bcq", "--env", "Pendulum-v1", "-n", "10", "-f", "logs2"], tmp_path, check=False)
    assert missing.returncode != 0
    assert (
        "No local Minari dataset 'pendulum/td3-acsf-v0'" in missing.stderr and "sb3_spiking.offline collect" in missing.stderr
    )


@pytest.mark.parametrize("path", CONFIGS, ids=[f"{p.parent.name}/{p.name}" for p in CONFIGS])
def test_zoo_configs_are_valid(path: Path) -> None:
    import gymnasium as gym
    import yaml
    from rl_zoo3 import exp_manager

    from sb3_spiking.zoo.plugin import ZOO_ALGOS, check_hyperparams

    algo = "spiking_bcq" if path.parent.name == "acsf" else path.stem  # acsf/<mode>.yml
    entries = yaml.safe_load(path.read_text())
    for env_id, hyperparams in entries.items():
        assert env_id in gym.registry or env_id == "atari", f"{path}: unknown env {env_id}"
        if algo in ZOO_ALGOS:
            check_hyperparams(dict(hyperparams), algo, env_id, str(path), vars(exp_manager))


@pytest.mark.parametrize(
    "algo,env_id,conf,extra",
    [
        (
            "spiking_td3",
            "HalfCheetah-v5",
            "popsan/spiking_td3.yml",
            ["learning_starts:100", "train_freq:50", "gradient_steps:5"],
        ),
        (
            "dsqn",
            "PongNoFrameskip-v4",
            "dsqn_atari/dsqn.yml",
            ["learning_starts:280", "buffer_size:2000", "batch_size:32"],
        ),
    ],
)
def test_zoo_config_smoke(algo: str, env_id: str, conf: str, extra: list[str], tmp_path: Path) -> None:
    pytest.importorskip("mujoco" if "Cheetah" in env_id else "ale_py")
    run(
        [
            "train",
            "--algo",
            algo,
            "--env",
            env_id,
            "-conf",
            str(REPO / "zoo_configs" / conf),
            "-n",
            "300",
            "-f",
            "logs",
            "--eval-freq",
            "-1",
            "-params",
            *extra,
        ],
        tmp_path,
    )
    assert (tmp_path / "logs" / algo / f"{env_id}_1" / f"{env_id}.zip").is_file()


def test_hook_can_be_disabled_and_register_by_hand(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "assert not any(getattr(f, 'sb3_spiking_zoo_hook', False) for f in sys.meta_path)\n"
        "from rl_zoo3 import enjoy\n"
        "from rl_zoo3.utils import ALGOS\n"
        "assert 'spiking_td3' not in ALGOS\n"
        "import sb3_spiking.zoo\n"
        "names = sb3_spiking.zoo.register()\n"
        "assert set(names) <= set(ALGOS) and 'dsqn' in names\n"
        "from rl_zoo3.hyperparams_opt import HYPERPARAMS_SAMPLER\n"
        "assert 'spiking_td3' in HYPERPARAMS_SAMPLER\n"
        "consts = [c for c in enjoy.enjoy.__code__.co_consts if isinstance(c, tuple) and 'td3' in c]\n"
        "assert consts and 'spiking_td3' in consts[0]\n"
        "print('ok')\n"
    )
    env = dict(_env(), SB3_SPIKING_NO_ZOO_HOOK="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.stdout.strip() == "ok", proc.stderr[-3000:]


# ------------------------------------------------------------------------------------------
# Heartbeats of tuning studies on a database (sb3_spiking.zoo.storage), in process
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "environ,expected",
    [
        ({}, (60, None, 3)),
        (
            {"SB3_SPIKING_HEARTBEAT_INTERVAL": "5", "SB3_SPIKING_GRACE_PERIOD": "30", "SB3_SPIKING_MAX_RETRY": "0"},
            (5, 30, 0),
        ),
        ({"SB3_SPIKING_HEARTBEAT_INTERVAL": "off", "SB3_SPIKING_GRACE_PERIOD": "30"}, (None, None, 3)),
        ({"SB3_SPIKING_HEARTBEAT_INTERVAL": "0"}, (None, None, 3)),
        ({"SB3_SPIKING_MAX_RETRY": "none"}, (60, None, None)),
    ],
)
def test_heartbeat_settings_from_env(environ: dict, expected: tuple) -> None:
    from sb3_spiking.zoo.storage import HeartbeatSettings

    s = HeartbeatSettings.from_env(environ)
    assert (s.interval, s.grace_period, s.max_retry) == expected
    assert s.enabled == (expected[0] is not None)


@pytest.mark.parametrize(
    "environ,message",
    [
        ({"SB3_SPIKING_HEARTBEAT_INTERVAL": "1.5"}, "SB3_SPIKING_HEARTBEAT_INTERVAL='1.5'"),
        ({"SB3_SPIKING_HEARTBEAT_INTERVAL": "-3"}, "positive whole number"),
        ({"SB3_SPIKING_HEARTBEAT_INTERVAL": "60", "SB3_SPIKING_GRACE_PERIOD": "10"}, "at least the heartbeat interval"),
        ({"SB3_SPIKING_MAX_RETRY": "-1"}, "max_retry must be an int >= 0"),
        ({"SB3_SPIKING_MAX_RETRY": "many"}, "SB3_SPIKING_MAX_RETRY='many'"),
    ],
)
def test_heartbeat_settings_reject_bad_values(environ: dict, message: str) -> None:
    from sb3_spiking.zoo.storage import HeartbeatSettings

    with pytest.raises(ValueError, match=message):
        HeartbeatSettings.from_env(environ)


def test_is_rdb_url() -> None:
    from sb3_spiking.zoo.storage import is_rdb_url

    for url in ("postgresql+psycopg2://u:p@h/db", "sqlite:///tune.db", "mysql://u@h/db"):
        assert is_rdb_url(url)
    for storage in (None, "logs/tune.log", "tune.log", "redis://h", "grpc://h:1", 3):
        assert not is_rdb_url(storage)


def _fake_exp_manager(tmp_path: Path, body: str):
    """A stand-in for rl_zoo3.exp_manager whose ``hyperparameters_optimization`` is ``body``."""
    import types

    module = types.ModuleType(f"fake_exp_manager_{abs(hash(body))}")
    source = (
        "import optuna\n"
        "class ExperimentManager:\n"
        "    def __init__(self, algo, storage):\n"
        "        self.algo, self.storage, self.study_name = algo, storage, 's'\n"
        "    def hyperparameters_optimization(self):\n"
        f"        {body}\n"
    )
    exec(compile(source, str(tmp_path / "fake_exp_manager.py"), "exec"), module.__dict__)
    return module


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_study_storage_hook_opens_databases_with_heartbeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import optuna

    from sb3_spiking.zoo.plugin import ZooOptuna, patch_study_storage

    monkeypatch.setenv("SB3_SPIKING_HEARTBEAT_INTERVAL", "7")
    monkeypatch.setenv("SB3_SPIKING_GRACE_PERIOD", "21")
    monkeypatch.setenv("SB3_SPIKING_MAX_RETRY", "2")
    module = _fake_exp_manager(
        tmp_path, "self.study = optuna.create_study(storage=self.storage, study_name=self.algo, load_if_exists=True)"
    )
    patch_study_storage(module)
    patch_study_storage(module)  # idempotent
    assert isinstance(module.optuna, ZooOptuna) and module.optuna.storages is optuna.storages
    url = f"sqlite:///{tmp_path / 'tune.db'}"

    ours = module.ExperimentManager("spiking_td3", url)
    ours.hyperparameters_optimization()
    storage = ours.study._storage
    assert storage.get_heartbeat_interval() == 7
    rdb = getattr(storage, "_backend", storage)
    assert rdb.grace_period == 21
    callback = storage.get_heartbeat_stale_trial_callback()
    assert type(callback).__name__ in ("RetryHeartbeatStaleTrialCallback", "RetryFailedTrialCallback")
    assert callback._max_retry == 2
    assert "heartbeat every 7 s; a trial without heartbeat for 21 s" in capsys.readouterr().out

    zoos = module.ExperimentManager("td3", url)  # the zoo's own algorithms: untouched
    zoos.hyperparameters_optimization()
    assert zoos.study._storage.get_heartbeat_interval() is None

    monkeypatch.setenv("SB3_SPIKING_HEARTBEAT_INTERVAL", "off")
    off = module.ExperimentManager("dsqn", url)
    off.hyperparameters_optimization()
    assert off.study._storage.get_heartbeat_interval() is None

    monkeypatch.setenv("SB3_SPIKING_HEARTBEAT_INTERVAL", "oops")
    with pytest.raises(ValueError, match="SB3_SPIKING_HEARTBEAT_INTERVAL='oops'"):
        module.ExperimentManager("dsqn", url).hyperparameters_optimization()


def test_study_storage_hook_fails_safe_on_an_unknown_zoo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A zoo that creates its study some other way: tuning runs as before, heartbeats off, and
    the user is told so."""
    import optuna

    from sb3_spiking.zoo.plugin import patch_study_storage

    module = _fake_exp_manager(tmp_path, "from optuna import create_study; self.study = create_study(storage=self.storage)")
    patch_study_storage(module)
    assert module.optuna is optuna  # nothing replaced
    manager = module.ExperimentManager("spiking_sac", f"sqlite:///{tmp_path / 'tune.db'}")
    manager.hyperparameters_optimization()
    assert manager.study._storage.get_heartbeat_interval() is None
    err = capsys.readouterr().err
    assert "not recognised" in err and "WITHOUT heartbeats" in err and "SB3_SPIKING_HEARTBEAT_INTERVAL=off" in err


def test_real_zoo_is_recognised_by_the_study_storage_hook() -> None:
    from rl_zoo3 import exp_manager

    from sb3_spiking.zoo.plugin import ZooOptuna, _calls_module_create_study

    method = exp_manager.ExperimentManager.hyperparameters_optimization
    assert getattr(method, "_sb3_spiking_patched", False)
    assert _calls_module_create_study(method.__wrapped__)
    assert isinstance(exp_manager.optuna, ZooOptuna)


def test_journal_file_storage_has_no_heartbeat(tmp_path: Path) -> None:
    """The README's documented limit: Optuna has no heartbeat for the journal file (the zoo's
    ``--storage logs/tune.log``). If this fails, Optuna gained one: use it and update the README."""
    import optuna
    from optuna.storages._heartbeat import BaseHeartbeat

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "t.log")))
    assert not isinstance(storage, BaseHeartbeat)
