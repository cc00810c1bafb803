"""Site outages: a site going down stops its VMs; coming back after a disaster restarts them and turns the
replications of plans recovered without it into RPO violations."""

from __future__ import annotations

from srmctl.srmsim import effects
from srmctl.srmsim.plans import plan_vms, protected_site_back
from srmctl.srmsim.world import World


def set_site_up(world: World, name: str, up: bool) -> None:
    """A site goes down: its VMs stop. It comes back after a disaster: those VMs boot again (split brain risk)
    and the replications of plans recovered without it report RPO_VIOLATION (posted to its event log)."""
    with world.lock:
        site = world.site(name)
        was_up = site.up
        if up == was_up:
            return
        if not up:
            stopped = [vm for vm in site.vms.values() if vm.power_state == "POWERED_ON" and vm.registered]
            site.outage_powered_off = [vm.id for vm in stopped]
        else:
            restarted = [site.vms[i] for i in site.outage_powered_off if i in site.vms]
            site.outage_powered_off = []
    if not up:
        effects.set_power(world, stopped, on=False)
        with world.lock:
            site.up = False
        return
    with world.lock:
        site.up = True
        violated = [
            r
            for plan in world.plans.values()
            if plan.status == "DISASTER_RECOVERY_COMPLETE" and plan.protected_site == name
            for vm, _ in plan_vms(world, plan)
            if (r := world.replication_of_vm(vm.id)) is not None
        ]
        for replication in violated:
            replication.status = "RPO_VIOLATION"
        protected_site_back(world, name)
    effects.set_power(world, restarted, on=True)
    for replication in violated:
        effects.event(
            world,
            replication,
            f"RPO violation: {replication.name} has not been synchronised to "
            f"{replication.target_site} for longer than its RPO of {replication.rpo} minutes",
        )
