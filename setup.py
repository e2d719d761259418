import glob
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py as _build_py

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sb3_spiking", "__init__.py")) as f:
    version = next(line.split('"')[1] for line in f if line.startswith("__version__"))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

# rl_zoo3 2.9 does not declare requests (load_from_hub) nor its plotting deps at start-up.
# Rendering for record_video: gymnasium[classic-control] brings pygame-ce (adding "pygame" too would
# install two packages into the same pygame/ folder).
# Upper bound: sb3_spiking/zoo/plugin.py patches rl_zoo3 internals, tested with 2.7-2.9 (TESTED_RL_ZOO3 there);
# a newer rl_zoo3 that no longer matches gets one warning line at start-up, not a traceback.
ZOO_EXTRA = ["rl_zoo3[plots]>=2.7,<2.10", "optuna", "requests", "moviepy", "gymnasium[classic-control]>=1.0", "tensorboard"]
# NIR export (sb3_spiking.export). The verification simulator, SpikingJelly 2.0, is not listed: its
# declared torchvision/torchaudio requirements make pip replace the user's torch build (a CPU
# 2.13 becomes a CUDA 2.14), while its NIR importer needs neither; .ci/run installs it with
# --no-deps next to loguru, the one extra module it imports.
NIR_EXTRA = ["nir>=1.0.8", "nirtorch>=2.6,<2.7"]
SPIKINGJELLY_RUNTIME = ["loguru>=0.7,<1"]
# The documentation site (docs/, `sphinx-build -W -b html docs docs/_build/html`): Markdown pages
# through MyST, the Read-the-Docs theme of the SB3 family.
DOCS_EXTRA = ["sphinx>=7", "sphinx-rtd-theme>=2", "myst-parser>=2"]
PTH = "sb3_spiking_zoo.pth"  # the RL Zoo start-up hook, see sb3_spiking/zoo/_hook.py


class build_py(_build_py):
    """Also ships the RL Zoo pieces that live outside the package folder.

    - ``sb3_spiking_zoo.pth`` goes to the root of site-packages, where Python runs it at start-up
      (registration with rl_zoo3 without any user action);
    - ``hyperparams/*.yml`` (zoo-format defaults) go into ``sb3_spiking/zoo/hyperparams/`` of a
      wheel; an editable install reads them from the repository instead.
    """

    def run(self):
        super().run()
        for src, dst in self._extra_files():
            self.mkpath(os.path.dirname(dst))
            self.copy_file(src, dst, preserve_mode=False)

    def _extra_files(self):
        pth_dir = self.build_lib
        if getattr(self, "editable_mode", False):
            # setuptools' editable_wheel points install_lib at the unpacked editable wheel (see
            # editable_wheel._configure_build): a file there lands in site-packages, while
            # build_lib is a temporary folder it throws away.
            pth_dir = self.get_finalized_command("install").install_lib
        files = [(os.path.join(here, "sb3_spiking", "zoo", PTH), os.path.join(pth_dir, PTH))]
        if not getattr(self, "editable_mode", False):
            for src in sorted(glob.glob(os.path.join(here, "hyperparams", "*.yml"))):
                dst = os.path.join(self.build_lib, "sb3_spiking", "zoo", "hyperparams", os.path.basename(src))
                files.append((src, dst))
        return files

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [dst for _, dst in self._extra_files()]

    def get_output_mapping(self):
        mapping = super().get_output_mapping()
        mapping.update({dst: src for src, dst in self._extra_files()})
        return mapping


setup(
    name="sb3-spiking",
    cmdclass={"build_py": build_py},
    version=version,
    description="Spiking neural-network agents (snnTorch) for Stable-Baselines3 and the RL Zoo",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=find_packages(include=["sb3_spiking", "sb3_spiking.*"]),
    package_data={"sb3_spiking": ["py.typed"]},
    python_requires=">=3.10",
    install_requires=[
        "stable-baselines3>=2.7",
        "sb3-contrib>=2.7",
        "snntorch>=0.9",
        "gymnasium>=1.0",
        "numpy",
        "pyyaml",  # hyperparams/*.yml (examples, benchmarks, RL Zoo plugin)
        # learn(..., progress_bar=True), used by the examples: SB3 needs both and declares them only
        # in its [extra], which would also bring ALE, OpenCV and pygame.
        "tqdm",
        "rich",
        # Offline RL datasets (SpikingBCQ, decision transformers). The [hdf5] storage backend only:
        # minari[create] would add JAX, which collect_dataset does not need.
        "minari[hdf5]>=0.5",
        # No exact pin: users bring the torch build that fits their hardware (CPU/CUDA/ROCm).
        "torch>=2.3",
    ],
    extras_require={
        "zoo": ZOO_EXTRA,
        # Distributed Optuna tuning on PostgreSQL (`--storage postgresql+psycopg2://...`).
        "postgres": ["psycopg2-binary"],
        "mujoco": ["gymnasium[mujoco]>=1.0"],
        "atari": ["ale-py>=0.9", "opencv-python-headless"],
        "nir": NIR_EXTRA,
        "docs": DOCS_EXTRA,
        "tests": [
            "pytest",
            "pytest-xdist",
            "ruff>=0.17,<0.18",  # .ci/run: `ruff check .` and `ruff format --check .` (config: pyproject.toml)
            "gymnasium[classic-control,mujoco]>=1.0",  # mujoco: the PopSAN zoo config smoke test
            "tensorboard",
            "ale-py>=0.9",  # the DSQN Atari smoke test (ROMs ship inside ale-py)
            "opencv-python-headless",  # SB3's Atari wrappers
            *ZOO_EXTRA,  # tests/test_zoo.py runs the rl_zoo3 commands
            "psycopg2-binary",  # distributed-tuning test (skipped without a PostgreSQL server)
            *NIR_EXTRA,  # tests/test_export.py
            *SPIKINGJELLY_RUNTIME,  # tests/test_export.py's SpikingJelly check (see NIR_EXTRA above)
        ],
    },
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
