"""Virtual-clock simulations with invariants checked on every step.

See ``acd_domain_sim.py`` for the invariants; any broken one raises
``InvariantBroken`` naming the agent and caller involved.
"""

from __future__ import annotations

import pytest
from acd_domain_sim import Simulation


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_small_contact_centre_keeps_every_invariant_on_every_step(seed: int) -> None:
    sim = Simulation(seed, n_queues=8, n_agents=80)
    sim.run(4000)
    assert len(sim.calls) > 400
    assert sim.stats["Bridge"] > 150
    assert sim.stats["Overflow"] > 0
    assert sim.stats["LoggedOut"] > 0


def test_thousands_of_callers_and_agents_keep_every_invariant() -> None:
    sim = Simulation(7, n_queues=40, n_agents=1000)
    sim.full_check_every = 250
    sim.run(24000)
    assert len(sim.calls) > 3000
    assert sim.stats["Bridge"] > 1000
    sim.full_check_every = 1
    sim.check_quiescent()
