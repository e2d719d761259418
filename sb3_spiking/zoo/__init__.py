"""RL Baselines3 Zoo integration.

After ``pip install -e ".[zoo]"`` (from the clone) nothing needs to be done: ``rl_zoo3 train --algo
spiking_td3 ...`` works, because a start-up hook (:mod:`sb3_spiking.zoo._hook`) registers the
algorithms the moment ``rl_zoo3`` is imported. :func:`register` does the same by hand (for
``SB3_SPIKING_NO_ZOO_HOOK=1`` or an unusual install).

Nothing is imported at interpreter start-up (the ``.pth`` only installs a trampoline finder); this
package is loaded at the first ``import rl_zoo3.*``.
"""


def register():
    """Register every spiking algorithm with rl_zoo3 (idempotent).

    Patches the rl_zoo3 modules already imported and installs the hook for the others.
    Returns the names added to ``rl_zoo3.utils.ALGOS``.
    """
    import sys

    from sb3_spiking.zoo import _hook, plugin

    _hook.install()
    for name in plugin.PATCHES:
        if name in sys.modules:
            plugin.apply_patch(name, sys.modules[name])
    for name in plugin.REWRITE_CODE:
        if name in sys.modules:
            plugin.patch_function_codes(sys.modules[name])
    import rl_zoo3.utils  # noqa: F401  (patched on import if it was not loaded yet)

    return tuple(plugin.ZOO_ALGOS)
