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
]


def _env() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg", MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"), OMP_NUM_THREADS="1")
    env.pop("SB3_SPIKING_NO_ZOO_HOOK", None)
    return env


def run(
    args: list[str], cwd: Path, check: bool = True, timeout: int = 600, python: str | None = None
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
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"`rl_zoo3 {' '.join(args)}` failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


@pytest.mark.parametrize("algo,env_id,extra", CASES, ids=[c[0] for c in CASES])
def test_zoo_commands(algo: str, env_id: str, extra: list[str], tmp_path: Path) -> None:
    """train, enjoy, record_video, plot_train and a 2-worker Optuna run, without -conf."""
    n = "512" if algo in ("spiking_ppo", "spiking_a2c") else "300"
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
        ],
        tmp_path,
    )
    import optuna

    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "logs" / "tune.log"))
    )
    trials = optuna.load_study(study_name=f"t_{algo}", storage=storage).trials
    assert len(trials) == 2
    for trial in trials:
        assert trial.state.name in ("COMPLETE", "PRUNED"), trial
        assert {"num_steps", "encoder", "decoder", "beta", "threshold"} <= set(trial.params)


def test_unknown_algo_lists_spiking_ones(tmp_path: Path) -> None:
    proc = run(["train", "--algo", "spiking_tdd3", "--env", "Pendulum-v1"], tmp_path, check=False)
    assert proc.returncode == 2
    for name in ("spiking_td3", "spiking_ddpg", "spiking_sac", "dsqn", "spiking_ppo", "spiking_a2c", "spiking_qrdqn", "spiking_tqc"):
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
    code = "import sys; print(sorted(m for m in ('torch', 'rl_zoo3', 'stable_baselines3', 'typing') if m in sys.modules)); print(repr(sys.meta_path[0]))"
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
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)], check=True
    )
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
        env=_env(),
        cwd=tmp_path,  # not the repository: its sb3_spiking/ would shadow the installed one
    ).stdout.split()
    assert check[0].startswith(site) and check[1] == "False"
    out = run(
        ["train", "--algo", "spiking_td3", "--env", "Pendulum-v1", "-n", "200", "-f", "logs"], tmp_path, python=python
    )
    assert "sb3_spiking/zoo/hyperparams/spiking_td3.yml" in out.stdout.replace(os.sep, "/")


POSTGRES_URL = os.environ.get("SB3_SPIKING_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES_URL, reason="set SB3_SPIKING_TEST_POSTGRES_URL (CI starts a PostgreSQL server)")
def test_distributed_tuning_on_postgres_survives_a_killed_worker(tmp_path: Path) -> None:
    import optuna

    study = f"dist_{os.getpid()}_{int(time.time())}"
    args = [
        "train",
        "--algo",
        "spiking_td3",
        "--env",
        "Pendulum-v1",
        "-n",
        "600",
        "-optimize",
        "--n-trials",
        "3",
        "--storage",
        POSTGRES_URL,
        "--study-name",
        study,
        "--n-evaluations",
        "2",
        "--eval-episodes",
        "1",
        "-params",
        "learning_starts:100",
        "-f",
        "logs",
        "--n-startup-trials",
        "10",
    ]
    assert ZOO is not None
    workers = [
        subprocess.Popen(
            [ZOO, *args, "--seed", str(i)],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    # Kill worker 0 while one of its trials runs.
    deadline = time.time() + 300
    killed = False
    while time.time() < deadline and not killed:
        time.sleep(0.5)
        try:
            trials = optuna.load_study(study_name=study, storage=POSTGRES_URL).trials
        except KeyError:  # study not created yet
            continue
        if sum(t.state.name == "RUNNING" for t in trials) >= 2:
            workers[0].kill()
            killed = True
    assert killed, "no two trials ran at once"
    workers[0].wait(timeout=60)
    out, _ = workers[1].communicate(timeout=600)
    assert workers[1].returncode == 0, out[-4000:]

    trials = optuna.load_study(study_name=study, storage=POSTGRES_URL).trials
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") + states.count("PRUNED") >= 3, states  # the survivor finished its 3
    assert set(states) <= {"COMPLETE", "PRUNED", "RUNNING", "FAIL"}
    # The study is still usable: a third worker can join and finish a trial.
    run(args[:9] + ["1"] + args[10:], tmp_path)
    assert len(optuna.load_study(study_name=study, storage=POSTGRES_URL).trials) == len(trials) + 1


# ------------------------------------------------------------------------------------------
# In-process checks of the plugin pieces (fast)
# ------------------------------------------------------------------------------------------
def test_registered_in_process() -> None:
    from rl_zoo3 import enjoy, record_video  # noqa: F401  (record_video: a script module)
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
    from rl_zoo3.utils import ALGOS

    from sb3_spiking import DSQN, SpikingA2C, SpikingDDPG, SpikingPPO, SpikingQRDQN, SpikingSAC, SpikingTD3, SpikingTQC

    expected = {
        "spiking_td3": SpikingTD3,
        "spiking_ddpg": SpikingDDPG,
        "spiking_sac": SpikingSAC,
        "dsqn": DSQN,
        "spiking_ppo": SpikingPPO,
        "spiking_a2c": SpikingA2C,
        "spiking_qrdqn": SpikingQRDQN,
        "spiking_tqc": SpikingTQC,
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

    src = "def f(a):\n    d = {'a2c': 1, 'dqn': 2, 'ppo': 3, 'sac': 4, 'td3': 5}\n    return a in ['dqn', 'sac', 'td3', 'tqc'], d\n"
    ns: dict = {}
    exec(extend_off_policy_lists(compile(src, "x", "exec")), ns)
    assert ns["f"]("spiking_td3")[0] and not ns["f"]("spiking_ppo")[0]
    assert ns["f"]("x")[1] == {"a2c": 1, "dqn": 2, "ppo": 3, "sac": 4, "td3": 5}


@pytest.mark.parametrize(
    "algo", ["spiking_td3", "spiking_sac", "dsqn", "spiking_ppo", "spiking_a2c", "spiking_ddpg", "spiking_qrdqn", "spiking_tqc"]
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

    with pytest.raises(ValueError, match="my_file.yml") as info:
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
    collect_dataset(TD3("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs=dict(net_arch=[8])), "Pendulum-v1", 300, "pendulum/zoo-v0")
    conf = tmp_path / "bcq.yml"
    conf.write_text(
        "Pendulum-v1:\n  n_timesteps: 60\n  policy: MlpPolicy\n  dataset: pendulum/zoo-v0\n  batch_size: 32\n"
        "  policy_kwargs: \"dict(net_arch=[16], vae_arch=[16], encoder='learnable', decoder='learnable', num_steps=2)\"\n"
    )
    run(["train", "--algo", "spiking_bcq", "--env", "Pendulum-v1", "-conf", str(conf), "-f", "logs", "--eval-freq", "30", "--eval-episodes", "1"], tmp_path)
    assert (tmp_path / "logs" / "spiking_bcq" / "Pendulum-v1_1" / "Pendulum-v1.zip").is_file()
    out = run(["enjoy", "--algo", "spiking_bcq", "--env", "Pendulum-v1", "-f", "logs", "-n", "210", "--no-render"], tmp_path)
    assert "Mean reward" in out.stdout
    missing = run(["train", "--algo", "spiking_bcq", "--env", "Pendulum-v1", "-n", "10", "-f", "logs2"], tmp_path, check=False)
    assert missing.returncode != 0
    assert "No local Minari dataset 'pendulum/td3-acsf-v0'" in missing.stderr and "sb3_spiking.offline collect" in missing.stderr


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
