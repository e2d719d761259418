"""When a future rl_zoo3 no longer matches what sb3_spiking/zoo/plugin.py patches: one clear line
on stderr, never a traceback, and rl_zoo3 keeps working."""

import subprocess
import sys
import types

import pytest

pytest.importorskip("rl_zoo3")

from sb3_spiking.zoo import plugin


def _one_mismatch_line(err: str, where: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    line = lines[0]
    assert line.startswith(
        f"sb3-spiking: rl_zoo3 {plugin.rl_zoo3_version()} does not match what sb3-spiking patches in {where}"
    )
    assert f"tested with rl_zoo3{plugin.TESTED_RL_ZOO3}" in line
    return line


def test_unrecognisable_cli_main_gives_one_line(monkeypatch, capsys):
    import rl_zoo3.cli

    monkeypatch.setattr(rl_zoo3.cli, "main", "not a function any more")
    assert plugin.apply_patch("rl_zoo3.cli", rl_zoo3.cli) is False
    line = _one_mismatch_line(capsys.readouterr().err, "rl_zoo3.cli")
    assert "rl_zoo3.cli.main is not the rl_zoo3 command's main function" in line


def test_unrecognisable_experiment_manager_gives_one_line(capsys):
    future = types.ModuleType("rl_zoo3.exp_manager")

    class ExperimentManager:  # a future release that renamed read_hyperparameters
        def __init__(self) -> None: ...

        def objective(self, trial): ...

        read_config = None

    future.ExperimentManager = ExperimentManager
    assert plugin.apply_patch("rl_zoo3.exp_manager", future) is False
    line = _one_mismatch_line(capsys.readouterr().err, "rl_zoo3.exp_manager")
    assert "ExperimentManager.read_hyperparameters is not a function" in line
    assert not getattr(ExperimentManager, "_sb3_spiking_patched", False)  # left as it was


def test_missing_algos_table_gives_one_line(capsys):
    assert plugin.apply_patch("rl_zoo3.utils", types.ModuleType("rl_zoo3.utils")) is False
    _one_mismatch_line(capsys.readouterr().err, "rl_zoo3.utils")


def test_code_without_an_off_policy_list_is_left_alone_with_one_line(capsys):
    code = compile("def enjoy():\n    return ['ppo', 'a2c']\n", "enjoy.py", "exec")
    assert plugin.rewrite_module_code("rl_zoo3.enjoy", code) is code
    line = _one_mismatch_line(capsys.readouterr().err, "rl_zoo3.enjoy")
    assert "no hard-coded list of off-policy algorithm names" in line


def test_the_shipped_rl_zoo3_matches_every_patch(capsys):
    """The installed rl_zoo3 (the tested release): registering prints nothing, also with the
    script modules already imported (their lists live in module-level code that has run)."""
    import rl_zoo3.record_video  # noqa: F401

    from sb3_spiking.zoo import register

    register()
    assert capsys.readouterr().err == ""


def test_start_up_hook_prints_one_line_and_rl_zoo3_still_imports():
    """Through the real import hook, as at start-up: a patch that meets an unrecognisable rl_zoo3
    (here cli.main replaced before the patch runs) prints one line; the import succeeds."""
    code = """
import sb3_spiking.zoo.plugin as plugin
real = plugin.PATCHES["rl_zoo3.cli"]
def future_rl_zoo3(module):
    module.main = object()  # what a release whose cli no longer has a main function would give
    real(module)
plugin.PATCHES["rl_zoo3.cli"] = future_rl_zoo3
import sb3_spiking.zoo._hook as hook
hook.install()
import rl_zoo3.cli
import rl_zoo3.utils
print("spiking_td3" in rl_zoo3.utils.ALGOS)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"  # the other patches still applied
    _one_mismatch_line(out.stderr, "rl_zoo3.cli")
