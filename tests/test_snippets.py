"""Every Python block of the README and of docs/ runs, and so does every example script.

The blocks are run as written, in a fresh folder each (so a block that loads a file must write it
first), with small budgets given from outside the text: ``learn``/``fine_tune`` (every SB3
algorithm goes through ``BaseAlgorithm._setup_learn``) and ``collect_dataset`` are capped at
``SNIPPET_STEPS``, the offline algorithms' ``learn`` (gradient steps) at ``OFFLINE_GRADIENT_STEPS``.
The examples run as scripts with ``--timesteps``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPET_STEPS = 300  # env steps per learn() / fine_tune(), transitions per collect_dataset()
OFFLINE_GRADIENT_STEPS = 20  # learn() of the offline algorithms counts gradient steps (~0.5 s each for the DT)

_MD_BLOCK = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_RST_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. code(?:-block)?:: python[ \t]*\n"  # the directive
    r"(?:(?P=indent)[ \t]+:.*\n)*\n"  # its options, then a blank line
    r"(?P<code>(?:(?:(?P=indent)[ \t]+.*)?\n)+)",  # the indented block
    re.M,
)


def doc_files() -> list[Path]:
    docs = ROOT / "docs"
    files = [p for p in sorted(docs.rglob("*")) if p.suffix in (".md", ".rst") and "_build" not in p.parts]
    return [ROOT / "README.md", *files]


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, dedented code) of every Python block of a Markdown or reST file."""
    text = path.read_text(encoding="utf-8")
    pattern = _RST_BLOCK if path.suffix == ".rst" else _MD_BLOCK
    return [(text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group("code"))) for m in pattern.finditer(text)]


BLOCKS = [
    pytest.param(path, line, code, id=f"{path.relative_to(ROOT)}:{line}")
    for path in doc_files()
    for line, code in python_blocks(path)
]


def test_blocks_found():
    """The extraction itself works: the README's first block and the docs' blocks are found."""
    ids = [p.id for p in BLOCKS]
    assert any(i.startswith("README.md:") for i in ids)
    assert sum(i.startswith("docs/") for i in ids) >= 10
    assert python_blocks(ROOT / "README.md")[0][1].startswith("from sb3_spiking import")


def _capped_learn(learn):
    def capped(self, total_timesteps, *args, **kwargs):
        return learn(self, min(int(total_timesteps), OFFLINE_GRADIENT_STEPS), *args, **kwargs)

    return capped


@pytest.fixture
def small_budget(monkeypatch, tmp_path, one_thread):
    """Cap every training budget, run in an empty folder, keep Minari datasets in it."""
    from stable_baselines3.common.base_class import BaseAlgorithm

    import sb3_spiking
    import sb3_spiking.offline

    setup_learn = BaseAlgorithm._setup_learn

    def capped_setup_learn(self, total_timesteps, *args, **kwargs):
        return setup_learn(self, min(int(total_timesteps), SNIPPET_STEPS), *args, **kwargs)

    collect = sb3_spiking.offline.collect_dataset

    def capped_collect(model, env_id, n_steps, *args, **kwargs):
        return collect(model, env_id, min(int(n_steps), SNIPPET_STEPS), *args, **kwargs)

    monkeypatch.setattr(BaseAlgorithm, "_setup_learn", capped_setup_learn)
    for cls in (sb3_spiking.SpikingBCQ, sb3_spiking.SpikingDecisionTransformer):
        monkeypatch.setattr(cls, "learn", _capped_learn(cls.learn))
    monkeypatch.setattr(sb3_spiking.offline, "collect_dataset", capped_collect)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.mark.parametrize("path, line, code", BLOCKS)
def test_python_block_runs(small_budget, path, line, code):
    import matplotlib

    matplotlib.use("Agg")
    exec(compile(code, f"{path.relative_to(ROOT)}:{line}", "exec"), {"__name__": "__main__"})


EXAMPLES = {
    "spiking_td3_pendulum.py": ["--timesteps", "300"],
    "ppo_drop_in.py": ["--timesteps", "256"],
    "dsqn_cartpole.py": ["--timesteps", "300"],
    "recurrent_ppo_novel.py": ["--timesteps", "256"],
    "dsqn_atari.py": ["--timesteps", "300"],
}


def test_every_example_is_run():
    assert sorted(EXAMPLES) == sorted(p.name for p in (ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(tmp_path, script):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *EXAMPLES[script]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
