import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sb3_spiking", "__init__.py")) as f:
    version = next(line.split('"')[1] for line in f if line.startswith("__version__"))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="sb3-spiking",
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
        # No exact pin: users bring the torch build that fits their hardware (CPU/CUDA/ROCm).
        "torch>=2.3",
    ],
    extras_require={
        # rl_zoo3 2.9 does not declare requests (load_from_hub) nor its plotting deps at start-up.
        "zoo": ["rl_zoo3[plots]>=2.7", "optuna", "requests", "moviepy", "pygame", "tensorboard"],
        "mujoco": ["gymnasium[mujoco]>=1.0"],
        "atari": ["ale-py>=0.9", "opencv-python-headless"],
        "tests": [
            "pytest",
            "pytest-xdist",
            "gymnasium[classic-control]>=1.0",
            "tensorboard",
            "ale-py>=0.9",  # the DSQN Atari smoke test (ROMs ship inside ale-py)
            "opencv-python-headless",  # SB3's Atari wrappers
        ],
    },
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
