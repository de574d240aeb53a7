"""A virtual-clock contact centre that drives the engine and checks it.

The simulator keeps its own model of the world, built only from the
decisions the engine returns and the events the simulator fed in, and
checks the rules after every step:

* no caller lost or duplicated: each caller is waiting (and the engine
  agrees on its place), bridged once, or gone once (overflow / abandon);
* no agent offered two calls at once, no call rung by more agents than
  ``ring_at_once``;
* offers follow the strategy: the agent rung is the best eligible ready
  agent (tier, then longest idle where the queue says so), the devices
  rung are exactly the reachable ones of the queue's kinds;
* an agent is rung only when ready: never in wrap-up (wrap-up ends at its
  time or when the agent ends it), never presence-busy for a queue that
  blocks, never cooling off after failing the same call;
* a free eligible agent never sits idle while a caller it could take waits;
* positions strictly FIFO within a queue (priority, then join time), and an
  agent is given the first caller in line it may take.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from acd.domain import (
    AcdEngine,
    AgentConfig,
    AgentState,
    AgentStateChanged,
    Bridge,
    CancelRing,
    Decision,
    Device,
    LoggedOut,
    MemberConfig,
    Overflow,
    QueueConfig,
    QueueEvent,
    Ring,
)
from acd.domain.config import ALWAYS_REACHABLE_KINDS
from acd.domain.ready_index import UNORDERED_TIER

S = AgentState
KINDS = ("desk", "softphone", "browser", "mobile")


class InvariantBroken(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantBroken(message)


@dataclass
class AgentModel:
    cfg: AgentConfig
    state: AgentState = S.LOGGED_OUT
    idle_since: float = 0.0
    queues: set[str] = field(default_factory=set)
    presence_busy: bool = False
    registered: set[str] = field(default_factory=set)
    offer: str | None = None
    call: str | None = None
    wrap_until: float | None = None


@dataclass
class CallModel:
    queue_id: str
    key: tuple[int, float, int]
    status: str = "waiting"  # waiting | bridged | gone
    offers: set[str] = field(default_factory=set)
    tried_until: dict[str, float] = field(default_factory=dict)


def build_config(
    rng: random.Random, n_queues: int, n_agents: int
) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig]]:
    agents: dict[str, AgentConfig] = {}
    for i in range(n_agents):
        kinds = rng.sample(KINDS, rng.randint(1, 3))
        devices = tuple(Device(id=f"a{i}-{k}", kind=k) for k in kinds)
        agents[f"a{i}"] = AgentConfig(devices=devices)
    membership: dict[str, dict[str, MemberConfig]] = {f"q{j}": {} for j in range(n_queues)}
    for agent_id in agents:
        for qid in rng.sample(sorted(membership), rng.randint(1, min(4, n_queues))):
            order = rng.randint(0, 20) if rng.random() < 0.7 else None
            membership[qid][agent_id] = MemberConfig(level=rng.randint(1, 4), order=order)
    queues: dict[str, QueueConfig] = {}
    strategies = ("skills", "sequential", "longest_idle", "random")
    for j, (qid, mem) in enumerate(sorted(membership.items())):
        queues[qid] = QueueConfig(
            strategy=strategies[j % 4],  # type: ignore[arg-type]
            among_equals="random" if j % 3 == 2 else "longest_idle",
            ring_at_once=(1, 1, 2, None)[j % 4],
            ring_time=rng.choice((10.0, 15.0, 20.0)),
            ring_attempts=rng.choice((None, None, 3)),
            members=mem,
            device_kinds=frozenset(rng.sample(KINDS, rng.randint(2, 4))),
            presence_blocks=j % 2 == 0,
            wrap_up=rng.choice((0.0, 10.0, 30.0)),
            auto_logout_after=rng.choice((None, 3)),
            max_wait=rng.choice((None, 600.0)),
            max_callers=rng.choice((None, 60)),
            overflow={"max_wait": "vm", "exit_key": "cb", "ring_attempts": "vm"},
            exit_key="9",
            priority=j % 3,
            retry_after=rng.choice((0.0, 5.0, 30.0)),
        )
    return queues, agents


class Simulation:
    def __init__(self, seed: int, *, n_queues: int = 8, n_agents: int = 80) -> None:
        self.rng = random.Random(seed)
        self.queues, agent_cfgs = build_config(self.rng, n_queues, n_agents)
        self.engine = AcdEngine(rng=random.Random(seed + 1))
        self.now = 0.0
        self.agents = {a: AgentModel(cfg=c) for a, c in agent_cfgs.items()}
        self.agent_ids = sorted(self.agents)
        self.calls: dict[str, CallModel] = {}
        self.rings: dict[str, Ring] = {}
        self.seq = 0
        self.steps = 0
        self.stats: dict[str, int] = {}
        self.allowed_ready_reasons: set[str] = set()
        self.waiting: dict[str, set[str]] = {q: set() for q in self.queues}
        self.touched: set[str] = set()
        self.full_check_every = 10
        # Events per virtual second grow with the contact centre.
        self.rate = max(1.0, n_agents / 80)
        self.apply(self.engine.configure(self.queues, agent_cfgs, 0.0))

    # ----------------------------------------------------------- driving

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def step(self) -> None:
        self.steps += 1
        target = self.now + self.rng.expovariate(self.rate)
        deadline = self.engine.next_deadline()
        self.allowed_ready_reasons = set()
        if deadline is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.apply(self.engine.tick(self.now))
        else:
            self.now = target
            self.random_action()
        self.check_quiescent()

    def random_action(self) -> None:
        rng, engine, now = self.rng, self.engine, self.now
        roll = rng.random()
        if roll < 0.30:
            self.seq += 1
            call_id = f"c{self.seq}"
            qid = rng.choice(sorted(self.queues))
            priority = rng.choice((0, 0, 0, 1))
            self.calls[call_id] = CallModel(queue_id=qid, key=(-priority, now, self.seq))
            self.waiting[qid].add(call_id)
            self.apply(engine.caller_joined(call_id, qid, now, priority), joined=call_id)
        elif roll < 0.52 and self.rings:
            offer_id = rng.choice(sorted(self.rings))
            ring = self.rings[offer_id]
            if rng.random() < 0.6:
                self.apply(engine.offer_answered(offer_id, rng.choice(ring.devices), now))
            else:
                reason = rng.choice(("rejected", "no_answer", "unreachable"))
                self.apply(engine.offer_failed(offer_id, None, reason, now))
        elif roll < 0.68 and (bridged := self.bridged()):
            self.apply(engine.call_ended(rng.choice(bridged), now))
        elif roll < 0.72 and (waiting := self.waiting_calls()):
            self.apply(engine.caller_left(rng.choice(waiting), now))
        elif roll < 0.73 and (waiting := self.waiting_calls()):
            self.apply(engine.caller_pressed(rng.choice(waiting), rng.choice("19"), now))
        elif roll < 0.731:
            # A reload with the same settings rebuilds every index.
            agent_cfgs = {a: m.cfg for a, m in self.agents.items()}
            self.apply(engine.configure(dict(self.queues), agent_cfgs, now))
        else:
            self.agent_action()

    def waiting_calls(self) -> list[str]:
        return sorted(c for w in self.waiting.values() for c in w)

    def bridged(self) -> list[str]:
        return sorted(a.call for a in self.agents.values() if a.call is not None)

    def agent_action(self) -> None:
        rng, engine, now = self.rng, self.engine, self.now
        agent_id = rng.choice(self.agent_ids)
        model = self.agents[agent_id]
        self.touched |= model.queues
        roll = rng.random()
        if model.state is S.LOGGED_OUT:
            self.allowed_ready_reasons = {"login"}
            member_of = [q for q, c in self.queues.items() if agent_id in c.members]
            some = rng.sample(member_of, rng.randint(1, len(member_of)))
            model.queues = set(member_of if roll < 0.5 else some)
            self.apply(engine.agent_login(agent_id, None if roll < 0.5 else some, now))
        elif roll < 0.2:
            self.apply(engine.agent_pause(agent_id, rng.choice(("lunch", "meeting")), now))
        elif roll < 0.45:
            self.allowed_ready_reasons = {"unpause", "end_wrap_up"}
            self.apply(engine.agent_ready(agent_id, now))
        elif roll < 0.5:
            self.apply(engine.agent_logout(agent_id, now))
        elif roll < 0.6:
            model.presence_busy = not model.presence_busy
            self.apply(engine.agent_presence(agent_id, model.presence_busy, now))
        else:
            device = rng.choice(model.cfg.devices).id
            if device in model.registered and rng.random() < 0.3:
                model.registered.discard(device)
                self.apply(engine.device_unregistered(agent_id, device, now))
            else:
                model.registered.add(device)
                self.apply(engine.device_registered(agent_id, device, now))

    # ------------------------------------------------------------- model

    def apply(self, decisions: Sequence[Decision], joined: str | None = None) -> None:
        for d in decisions:
            if isinstance(d, AgentStateChanged):
                self.touched |= self.agents[d.agent_id].queues
            elif isinstance(d, Ring | Overflow | QueueEvent):
                self.touched.add(d.queue_id)
            self.stats[type(d).__name__] = self.stats.get(type(d).__name__, 0) + 1
            if isinstance(d, AgentStateChanged):
                self.on_state(d)
            elif isinstance(d, Ring):
                self.on_ring(d)
            elif isinstance(d, CancelRing):
                self.end_ring(d.offer_id)
            elif isinstance(d, Bridge):
                call = self.calls[d.call_id]
                check(call.status == "waiting", f"bridge of {d.call_id} in {call.status}")
                self.end_ring(d.offer_id)
                check(not call.offers, f"{d.call_id} still ringing after answer")
                call.status = "bridged"
                self.waiting[call.queue_id].discard(d.call_id)
                self.agents[d.agent_id].call = d.call_id
            elif isinstance(d, Overflow):
                self.gone(d.call_id)
            elif isinstance(d, QueueEvent):
                self.on_queue_event(d)
            elif isinstance(d, LoggedOut):
                check(self.agents[d.agent_id].state is S.LOGGED_OUT, "LoggedOut not logged out")
        if joined is not None:
            check(joined in self.calls, f"{joined} vanished")

    def on_state(self, d: AgentStateChanged) -> None:
        model = self.agents[d.agent_id]
        check(d.old is model.state, f"{d.agent_id}: change from {d.old}, model {model.state}")
        if d.new is S.READY and d.old is not S.RESERVED:
            model.idle_since = d.at
        if d.old is S.WRAP_UP and d.new is S.READY:
            # D9: wrap-up ends at its time, or early only when the agent says so.
            assert model.wrap_until is not None
            if d.reason == "wrap_up_over":
                check(d.at >= model.wrap_until, f"{d.agent_id} wrap-up cut short")
            else:
                check(d.reason in self.allowed_ready_reasons, f"wrap-up ended by {d.reason}")
        if d.new is S.WRAP_UP:
            call = self.calls[model.call or ""]
            model.wrap_until = d.at + self.queues[call.queue_id].wrap_up
        if d.old is S.ON_CALL:
            call_id = model.call
            check(call_id is not None, "on call without a call")
            self.calls[call_id or ""].status = "gone"
            model.call = None
        if d.new is S.LOGGED_OUT:
            self.touched |= model.queues
            model.queues = set()
        model.state = d.new

    def on_ring(self, d: Ring) -> None:
        model = self.agents[d.agent_id]
        call = self.calls[d.call_id]
        cfg = self.queues[d.queue_id]
        check(model.state is S.RESERVED, f"{d.agent_id} rung in {model.state}")
        check(model.offer is None, f"{d.agent_id} offered two calls at once")
        check(call.status == "waiting", f"ring for {d.call_id} in {call.status}")
        limit = cfg.ring_at_once or 1 << 30
        check(len(call.offers) < limit, f"{d.call_id} rings more than {limit} agents")
        check(self.eligible(d.agent_id, d.queue_id, d.call_id, was_ready=True), "ineligible")
        check(d.devices == self.devices(d.agent_id, cfg), f"{d.agent_id} wrong devices")
        # The agent is the best eligible ready agent (D2-D4).
        mine = self.rank(d.agent_id, cfg)
        for rival in cfg.members:
            if self.agents[rival].state is S.READY and self.eligible(rival, d.queue_id, d.call_id):
                check(mine <= self.rank(rival, cfg), f"{d.agent_id} rung before {rival}")
        # The first caller in line that this agent may take (FIFO).
        for other_id in self.waiting[d.queue_id]:
            other = self.calls[other_id]
            if other.key < call.key and len(other.offers) < limit:
                check(
                    not self.eligible(d.agent_id, d.queue_id, other_id, was_ready=True),
                    f"{d.agent_id} took {d.call_id} before {other_id}",
                )
        model.offer = d.offer_id
        call.offers.add(d.offer_id)
        self.rings[d.offer_id] = d

    def end_ring(self, offer_id: str) -> None:
        ring = self.rings.pop(offer_id, None)
        if ring is None:
            return
        self.agents[ring.agent_id].offer = None
        self.calls[ring.call_id].offers.discard(offer_id)

    def gone(self, call_id: str) -> None:
        call = self.calls[call_id]
        check(call.status == "waiting", f"{call_id} left the queue from {call.status}")
        check(not call.offers, f"{call_id} left while still ringing")
        call.status = "gone"
        self.waiting[call.queue_id].discard(call_id)

    def on_queue_event(self, d: QueueEvent) -> None:
        if d.kind in ("rejected", "no_answer", "unreachable"):
            assert d.agent_id is not None
            offer_id = str(d.data["offer_id"])
            self.end_ring(offer_id)
            retry = self.queues[d.queue_id].retry_after
            self.calls[d.call_id].tried_until[d.agent_id] = d.at + retry
        elif d.kind == "abandoned":
            self.gone(d.call_id)
        elif d.kind == "entered":
            check(d.call_id in self.calls, "unknown caller entered")

    # ----------------------------------------------------------- helpers

    def devices(self, agent_id: str, cfg: QueueConfig) -> tuple[str, ...]:
        model = self.agents[agent_id]
        kinds = cfg.device_kinds
        return tuple(
            d.id
            for d in model.cfg.devices
            if (not kinds or d.kind in kinds)
            and (d.kind in ALWAYS_REACHABLE_KINDS or d.id in model.registered)
        )

    def serves(self, agent_id: str, qid: str) -> bool:
        """Logged in to the queue, presence allows, a device it rings is reachable."""
        model = self.agents[agent_id]
        cfg = self.queues[qid]
        if qid not in model.queues or agent_id not in cfg.members:
            return False
        if cfg.presence_blocks and model.presence_busy:
            return False
        return bool(self.devices(agent_id, cfg))

    def eligible(self, agent_id: str, qid: str, call_id: str, *, was_ready: bool = False) -> bool:
        model = self.agents[agent_id]
        if not was_ready and model.state is not S.READY:
            return False
        if was_ready and model.state not in (S.READY, S.RESERVED):
            return False
        if was_ready and model.state is S.RESERVED and model.offer is not None:
            return False
        if not self.serves(agent_id, qid):
            return False
        until = self.calls[call_id].tried_until.get(agent_id)
        return until is None or self.now >= until

    def rank(self, agent_id: str, cfg: QueueConfig) -> tuple[float, ...]:
        member = cfg.members[agent_id]
        tier: float = 0
        if cfg.strategy == "skills":
            tier = member.level
        elif cfg.strategy == "sequential":
            tier = UNORDERED_TIER if member.order is None else member.order
        longest = cfg.strategy == "longest_idle" or (
            cfg.strategy in ("skills", "sequential") and cfg.among_equals == "longest_idle"
        )
        idle = self.agents[agent_id].idle_since if longest else -math.inf
        return (tier, idle)

    # --------------------------------------------------------- invariants

    def check_quiescent(self) -> None:
        engine = self.engine
        full = self.steps % self.full_check_every == 0
        touched, self.touched = self.touched, set()
        for qid in self.queues if full else touched:
            expected = sorted(self.waiting[qid], key=lambda c: self.calls[c].key)
            if full:
                snap = engine.queue_snapshot(qid, self.now)
                got = [w.call_id for w in snap.waiting]
                check(got == expected, f"{qid}: engine order {got[:5]} != model {expected[:5]}")
            cfg = self.queues[qid]
            limit = cfg.ring_at_once or 1 << 30
            if not expected:
                continue
            # A free eligible agent never sits idle while a caller it may take waits.
            idle = [
                a for a in cfg.members if self.agents[a].state is S.READY and self.serves(a, qid)
            ]
            if not idle:
                continue
            for call_id in expected:
                call = self.calls[call_id]
                if len(call.offers) >= limit:
                    continue
                for agent_id in idle:
                    until = call.tried_until.get(agent_id)
                    check(
                        until is not None and self.now < until,
                        f"{agent_id} idle while {call_id} waits in {qid}",
                    )
        if full:
            for agent_id, model in self.agents.items():
                agent = engine.agent_snapshot(agent_id)
                check(agent.state is model.state, f"{agent_id}: {agent.state} != {model.state}")
                check(agent.offer_id == model.offer, f"{agent_id}: offer mismatch")
            for call_id, call in self.calls.items():
                if call.status == "gone" and self.steps % 100:
                    continue
                pos = engine.position_of(call_id)
                check((pos is not None) == (call.status == "waiting"), f"{call_id} lost")
