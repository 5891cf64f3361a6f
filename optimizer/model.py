"""The optimizer's Python entry points, kept under the name docs/optimizer.md gives
them (``from optimizer.model import solve``): scripts and notebooks outside this
repository call them so. The code itself lives by concern:

- ``optimizer.build``: the PuLP model of one component;
- ``optimizer.solvers``: the HiGHS and CBC adapters and their honest status;
- ``optimizer.component``: ``solve_component``, the strategy per component;
- ``optimizer.orchestrate``: ``solve`` and ``solve_prepared``, the whole run.

The project's own code imports from those modules, not from here.
"""

from optimizer.component import SOLVERS, solve_component
from optimizer.orchestrate import solve, solve_prepared

__all__ = ["SOLVERS", "solve", "solve_component", "solve_prepared"]
