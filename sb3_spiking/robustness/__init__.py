"""Adversarial robustness: returns under FGSM perturbations of every observation.

- :mod:`.fgsm`: the attack and the evaluation (``fgsm_perturb``, ``FGSMPredictor``, ``fgsm_evaluate``);
- :mod:`.plots`: ``plot_robustness``;
- :mod:`.cli`: ``python -m sb3_spiking.robustness``.
"""

from sb3_spiking.robustness.cli import main
from sb3_spiking.robustness.fgsm import FGSMPredictor, action_scores, fgsm_evaluate, fgsm_perturb
from sb3_spiking.robustness.plots import plot_robustness

__all__ = ["FGSMPredictor", "action_scores", "fgsm_evaluate", "fgsm_perturb", "main", "plot_robustness"]
