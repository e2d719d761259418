"""Take a trained spiking agent off PyTorch: export the network that acts to NIR.

NIR (the Neuromorphic Intermediate Representation, package ``nir``) is the exchange format that
snnTorch, SpikingJelly, Norse, Rockpool, Sinabs, Spyx, Lava and several neuromorphic chips'
toolchains read. :func:`to_nir` maps the acting network of a trained model to a
:class:`nir.NIRGraph` whose ``metadata`` says how to run it (``num_steps``, ``dt``, the readout)
and how observations become its input and its output an action, so that a reader of the graph
alone can reproduce ``model.predict``; :func:`simulate` is such a reader (plain NumPy, nothing
but the graph). Install with ``pip install -e ".[nir]"`` from the clone.

    from sb3_spiking.export import to_nir, simulate
    import nir
    graph = to_nir(model)             # model: a reset_mechanism="zero" SpikingTD3, DSQN, ...
    nir.write("policy.nir", graph)
    actions = simulate(nir.read("policy.nir"), observations).actions

    python -m sb3_spiking.export --model x.zip --algo spiking_td3 --out policy.nir
    python -m sb3_spiking.export --algo dsqn --env CartPole-v1 -f logs --out policy.nir  # RL Zoo folder
"""

from __future__ import annotations

from sb3_spiking.export.nir_graph import DT, NIR_EXTRA, SUPPORTED, to_nir
from sb3_spiking.export.simulator import SimulationResult, read_metadata, simulate

__all__ = ["DT", "NIR_EXTRA", "SUPPORTED", "SimulationResult", "read_metadata", "simulate", "to_nir"]
