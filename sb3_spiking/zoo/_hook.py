"""Start-up hook: registers sb3-spiking with RL Zoo when, and only when, ``rl_zoo3`` is imported.

``pip install sb3-spiking`` puts ``sb3_spiking_zoo.pth`` into site-packages; Python runs its one
line at start-up. That line imports nothing: it puts a small trampoline finder on
``sys.meta_path`` which, at the first ``import rl_zoo3.*``, imports this module and hands every
``rl_zoo3`` lookup to :class:`ZooImportHook`, which patches only the modules in :data:`WATCHED`.
Measured on ``python -c pass`` (median of 30 runs, 2-core CI machine, 31.6 ms without the
``.pth``): importing this module from the ``.pth`` cost +4 ms (the ``sb3_spiking`` package lookup
through the editable-install finder dominates); the trampoline costs +0.5 ms, within noise.
Why a start-up hook at all: rl_zoo3 builds its ``--algo`` choices from
``rl_zoo3.utils.ALGOS`` while parsing the command line, before ``--gym-packages`` or any user
code could run, so the registration has to ride on the import of ``rl_zoo3`` itself.

When a watched module is loaded, :mod:`sb3_spiking.zoo.plugin` patches it (see there for what
and why). ``SB3_SPIKING_NO_ZOO_HOOK=1`` turns the hook off; ``sb3_spiking.zoo.register()`` then
registers by hand.
"""

import os
import sys

from sb3_spiking.zoo import plugin

#: rl_zoo3 modules the hook intercepts: the ones patched after execution and the ones whose code
#: gets its off-policy name lists extended (both tables live in :mod:`sb3_spiking.zoo.plugin`).
WATCHED = frozenset(plugin.PATCHES) | frozenset(plugin.REWRITE_CODE)


class _PatchingLoader:
    """Wraps the real loader of a watched module: patches its code, then the executed module.

    Everything else (``get_source``, ``is_package``, resources, ...) is the real loader's.
    ``runpy`` (``python -m rl_zoo3.record_video``) calls ``get_code`` directly, hence the
    rewrite there rather than after execution.
    """

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def get_code(self, fullname):
        code = self._loader.get_code(fullname)
        if self._name not in plugin.REWRITE_CODE or code is None:
            return code
        return plugin.rewrite_module_code(fullname, code)  # one line instead of a traceback on a mismatch

    def exec_module(self, module):
        code = self.get_code(module.__name__)
        if code is None:
            raise ImportError(f"cannot load {module.__name__!r}: no code object")
        exec(code, module.__dict__)
        if self._name in plugin.PATCHES:
            plugin.apply_patch(self._name, module)  # one line instead of a traceback on a mismatch


class ZooImportHook:
    """``sys.meta_path`` finder that hands watched rl_zoo3 modules a :class:`_PatchingLoader`."""

    sb3_spiking_zoo_hook = True  # marks our finders (this one and the .pth trampoline)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in WATCHED:
            return None
        for finder in sys.meta_path:
            if getattr(finder, "sb3_spiking_zoo_hook", False) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "get_code") or isinstance(loader, _PatchingLoader):
            return spec
        spec.loader = _PatchingLoader(loader, fullname)
        return spec

    def __repr__(self):
        return "<sb3_spiking.zoo ZooImportHook>"


def install():
    """Put the hook first on ``sys.meta_path`` (idempotent; a no-op if disabled by env var)."""
    if os.environ.get("SB3_SPIKING_NO_ZOO_HOOK", "") not in ("", "0"):
        return
    if not any(getattr(f, "sb3_spiking_zoo_hook", False) for f in sys.meta_path):
        sys.meta_path.insert(0, ZooImportHook())
