"""Checks across sections, run once every model is valid on its own.

Each check yields ``Finding(path, message, at_key, reference)``; the loader
turns the path into file:line:col.  ``at_key`` points at the key rather than
its value (for a member that is not a user, the member's name is the
mistake).  ``reference`` marks a name that points nowhere: those are
reported even for an entry that also has field errors.

:func:`warnings` finds what is legal but probably a mistake.
"""

from __future__ import annotations

import difflib
import ipaddress
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from acd.config.dialplan import Dialplan
from acd.config.errors import KeyPath
from acd.config.schedules import parse_hours
from acd.config.trunks import NumberRules
from acd.config.types import NAMED_KINDS, Destination, format_hhmm, parse_source
from acd.config.users import REGISTERING_KINDS
from sip.tls import client_context, server_context

# Finds a prompt file written at a key path: the resolved path, or None if missing.
Locator = Callable[[KeyPath, str], Path | None]


# Accepted by the schema, not yet carried out by the server: refused here so
# that no plan that passes ``jono check`` silently does nothing (none today).
NOT_YET: dict[str, str] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    path: KeyPath
    message: str
    at_key: bool = False
    reference: bool = False


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> str:
    return f"unknown {kind} '{name}'{did_you_mean(name, choices)}"


def walk_destinations(value: object, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Destination]]:
    """Every Destination in the model tree, with its key path."""
    if isinstance(value, Destination):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk_destinations(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_destinations(item, (*path, key))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from walk_destinations(item, (*path, index))


class Names:
    """Names defined per section, counting entries dropped for schema errors.

    When some entries failed validation the loader drops them and checks the
    rest; references to a dropped entry are not reported as unknown.
    """

    def __init__(self, plan: Dialplan, dropped: Mapping[str, set[str]]) -> None:
        self.plan = plan
        self.dropped = dropped

    def __call__(self, section: str) -> set[str]:
        dropped = self.dropped.get(section, set())
        if "*" in dropped:
            return _Everything()
        return set(getattr(self.plan, section)) | dropped


class _Everything(set[str]):
    """A section dropped whole: any name may have been in it."""

    def __contains__(self, item: object) -> bool:
        return True


def check(
    plan: Dialplan, locate: Locator, dropped: Mapping[str, set[str]] | None = None
) -> list[Finding]:
    names = Names(plan, dropped or {})
    return [
        *_destinations(plan, names),
        *_numbers_and_extensions(plan),
        *_users(plan, names),
        *_queues(plan, names),
        *_schedules(plan),
        *_prompts(plan, locate, names),
        *_outbound(plan, names),
        *_tls(plan, locate),
    ]


def _destinations(plan: Dialplan, names: Names) -> Iterator[Finding]:
    sections = {"voicemail": "users", "callback": "queues"}
    outbound = bool(names.dropped.get("trunks")) or any(
        trunk.outbound for trunk in plan.trunks.values()
    )
    for path, dest in walk_destinations(plan):
        target = dest.target or ""
        section = sections.get(dest.kind, dest.kind + "s")
        if dest.kind in NAMED_KINDS and target not in names(section):
            message = unknown(section[:-1], target, names(section))
            yield Finding(path=path, message=message, reference=True)
        elif dest.kind == "callback" and target in plan.queues:
            if plan.queues[target].callback is None:
                yield Finding(path=path, message=f"queue '{target}' has no callback settings")
        elif dest.kind == "voicemail" and target in plan.users:
            if plan.users[target].voicemail is None:
                message = f"user '{target}' has no voicemail (set voicemail: true)"
                yield Finding(path=path, message=message)
        elif dest.kind == "number" and not outbound:
            yield Finding(path=path, message=f"no trunk has 'outbound' to call {dest}")


def _numbers_and_extensions(plan: Dialplan) -> Iterator[Finding]:
    rules = [trunk.normalise for trunk in plan.trunks.values()] or [NumberRules()]
    for rule in rules:
        seen: dict[str, str] = {}
        for key in plan.numbers:
            normal = rule.normalise(key)
            if normal in seen:
                message = f"'{key}' is the same number as '{seen[normal]}' ({normal})"
                yield Finding(path=("numbers", key), message=message, at_key=True)
            else:
                seen[normal] = key
    owners: dict[str, str] = {}
    for name, user in plan.users.items():
        path = ("users", name, "extension")
        if user.extension in owners:
            other = owners[user.extension]
            yield Finding(
                path=path, message=f"extension '{user.extension}' is already used by user '{other}'"
            )
        else:
            owners[user.extension] = name
        if user.extension in plan.numbers:
            message = f"extension '{user.extension}' clashes with number '{user.extension}'"
            yield Finding(path=path, message=message)
    for code, dialled in plan.feature_codes.model_dump().items():
        if dialled in owners:
            message = f"'{dialled}' is also the extension of user '{owners[dialled]}'"
            yield Finding(path=("feature_codes", code), message=message)


def _users(plan: Dialplan, names: Names) -> Iterator[Finding]:
    for name, user in plan.users.items():
        path: KeyPath = ("users", name)
        if user.password is not None and user.password_ha1 is not None:
            yield Finding(path=path, message="give password or password_ha1, not both")
        registering = [d.kind for d in user.devices if d.kind in REGISTERING_KINDS]
        if registering and user.password is None and user.password_ha1 is None:
            message = f"a {registering[0]} device needs a password or password_ha1"
            yield Finding(path=path, message=message)
        if user.no_answer_message is not None and user.forward_no_answer is not None:
            message = "give no_answer_message or forward_no_answer, not both"
            yield Finding(path=path, message=message)
        if user.forward_always is not None and user.forward_always == Destination(
            kind="user", target=name
        ):
            yield Finding(path=(*path, "forward_always"), message="a user cannot forward to itself")
        for index, queue in enumerate(user.supervises):
            if queue not in names("queues"):
                message = unknown("queue", queue, names("queues"))
                yield Finding(path=(*path, "supervises", index), message=message)
        for index, device in enumerate(user.devices):
            dpath: KeyPath = (*path, "devices", index)
            if device.kind == "static" and device.contact is None:
                yield Finding(path=dpath, message="a static device needs 'contact' (a sip: URI)")
            if device.kind == "mobile" and (device.number is None or device.trunk is None):
                yield Finding(path=dpath, message="a mobile device needs 'number' and 'trunk'")
            if device.trunk is not None and device.trunk not in names("trunks"):
                message = unknown("trunk", device.trunk, names("trunks"))
                yield Finding(path=(*dpath, "trunk"), message=message, reference=True)


def _queues(plan: Dialplan, names: Names) -> Iterator[Finding]:
    for name, queue in plan.queues.items():
        path: KeyPath = ("queues", name)
        for member in queue.members:
            if member not in names("users"):
                message = unknown("user", member, names("users"))
                yield Finding(
                    path=(*path, "members", member), message=message, at_key=True, reference=True
                )
        if queue.exit_key is not None and queue.exit_destination is None:
            yield Finding(path=(*path, "exit_key"), message="exit_key needs exit_destination")
        if queue.schedule is not None and queue.schedule not in names("schedules"):
            message = unknown("schedule", queue.schedule, names("schedules"))
            yield Finding(path=(*path, "schedule"), message=message, reference=True)
        callback = queue.callback
        if callback is None:
            continue
        exit_to = queue.exit_destination
        if queue.exit_key == callback.key and str(exit_to) != f"callback:{name}":
            message = (f"'{callback.key}' is also the exit key, which leads to {exit_to}: "
                       "give the callback another key")
            yield Finding(path=(*path, "callback", "key"), message=message)
        timed = callback.offer_after_open_minutes or callback.stop_before_close_min
        if timed and queue.schedule is None:
            message = "offer_after_open_minutes and stop_before_close_min need the queue's schedule"
            yield Finding(path=(*path, "callback"), message=message)


def _outbound(plan: Dialplan, names: Names) -> Iterator[Finding]:
    trunk = plan.outbound.trunk
    if trunk is not None:
        if trunk not in names("trunks"):
            message = unknown("trunk", trunk, names("trunks"))
            yield Finding(path=("outbound", "trunk"), message=message, reference=True)
        elif trunk in plan.trunks and plan.trunks[trunk].outbound is None:
            message = f"trunk '{trunk}' has no 'outbound' gateway to call out through"
            yield Finding(path=("outbound", "trunk"), message=message)
    for name, user in plan.users.items():
        shown = user.caller_id
        if shown is None or "numbers" in names.dropped:
            continue
        number = plan.numbers.get(shown)
        dest = number.destination if number is not None else None
        own = dest is not None and dest.kind == "user" and dest.target == name
        group = (
            number is not None and number.allow_member_presentation and dest is not None
            and dest.kind == "queue" and dest.target in plan.queues
            and name in plan.queues[dest.target].members
        )
        if not (own or group):
            message = (
                f"'{shown}' must be a number of this plan that reaches user '{name}', or one "
                "with allow_member_presentation of a queue they are in (N3)"
            )
            yield Finding(path=("users", name, "caller_id"), message=message)


def _overlaps(ranges: list[tuple[int, int, str]]) -> Iterator[tuple[str, str]]:
    """Pairs (later range, earlier range) that overlap; ``ranges`` sorted by start."""
    for (s1, e1, key1), (s2, e2, key2) in zip(ranges, ranges[1:], strict=False):
        if s2 < e1:
            later = f"{format_hhmm(s2)}-{format_hhmm(e2)}"
            earlier = f"{format_hhmm(s1)}-{format_hhmm(e1)}"
            source = f" from '{key1}'" if key1 != key2 else ""
            yield key2, f"{later} overlaps {earlier}{source}"


def _schedules(plan: Dialplan) -> Iterator[Finding]:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    for name, schedule in plan.schedules.items():
        path: KeyPath = ("schedules", name)
        reported: set[str] = set()
        for day, ranges in schedule.weekly().items():
            for key, text in _overlaps(ranges):
                if key not in reported:
                    reported.add(key)
                    message = f"{days[day]} {text}"
                    yield Finding(path=(*path, "hours", key), message=message, at_key=True)
        for date, hours in schedule.exceptions.items():
            ranges = sorted((s, e, date) for s, e in parse_hours(hours))
            for key, text in _overlaps(ranges):
                yield Finding(path=(*path, "exceptions", key), message=text)
                break


def prompt_fields(plan: Dialplan) -> Iterator[tuple[KeyPath, str]]:
    """Every field that names an announcement or an audio file."""
    for name, menu in plan.menus.items():
        yield ("menus", name, "prompt"), menu.prompt
        for field in ("invalid_prompt", "timeout_prompt"):
            value = getattr(menu, field)
            if value is not None:
                yield ("menus", name, field), value
        if menu.collect is not None and menu.collect.prompt is not None:
            yield ("menus", name, "collect", "prompt"), menu.collect.prompt
    for name, queue in plan.queues.items():
        if queue.entry_announcement is not None:
            yield ("queues", name, "entry_announcement"), queue.entry_announcement
        if isinstance(queue.whisper, str):
            yield ("queues", name, "whisper"), queue.whisper
        if queue.callback is not None:
            callback = queue.callback
            for field, value in (("offer_announcement", callback.offer_announcement),
                                 ("agent_announcement", callback.agent_announcement)):
                if value is not None:
                    yield ("queues", name, "callback", field), value
            for index, interval in enumerate(callback.intervals):
                if interval.prompt is not None:
                    yield ("queues", name, "callback", "intervals", index, "prompt"), interval.prompt
    for name, user in plan.users.items():
        if user.no_answer_message is not None:
            yield ("users", name, "no_answer_message"), user.no_answer_message


def _prompts(plan: Dialplan, locate: Locator, names: Names) -> Iterator[Finding]:
    for name, announcement in plan.announcements.items():
        path: KeyPath = ("announcements", name)
        if announcement.file is None and announcement.text is None:
            yield Finding(path=path, message="an announcement needs 'file' or 'text'")
        elif announcement.file is not None and locate((*path, "file"), announcement.file) is None:
            yield Finding(path=(*path, "file"), message=f"file '{announcement.file}' not found")
    for path, prompt in prompt_fields(plan):
        if prompt in names("announcements") or locate(path, prompt) is not None:
            continue
        hint = did_you_mean(prompt, names("announcements"))
        message = f"'{prompt}' is neither an announcement nor an existing file{hint}"
        yield Finding(path=path, message=message, reference=True)


def _tls(plan: Dialplan, locate: Locator) -> Iterator[Finding]:
    """``server.tls``: certificate and key come together, exist, and load as a pair."""
    tls = plan.server.tls
    if tls is None:
        return
    path: KeyPath = ("server", "tls")
    if (tls.certificate is None) != (tls.key is None):
        given = "certificate" if tls.certificate is not None else "key"
        yield Finding(path=(*path, given), message="give both 'certificate' and 'key', or "
                      "neither (a self-signed pair for development)")
        return
    found: dict[str, Path] = {}
    for field in ("certificate", "key", "ca_file"):
        name = getattr(tls, field)
        if name is None:
            continue
        located = locate((*path, field), name)
        if located is None:
            yield Finding(path=(*path, field), message=f"file '{name}' not found")
        else:
            found[field] = located
    if "certificate" in found and "key" in found:
        try:
            server_context(str(found["certificate"]), str(found["key"]))
        except (OSError, ssl.SSLError) as err:
            # The reason only (never the key's contents): "KEY_VALUES_MISMATCH", "PEM lib" ...
            reason = getattr(err, "reason", None) or err.strerror or type(err).__name__
            yield Finding(path=(*path, "certificate"),
                          message=f"certificate and key do not load as a pair: {reason}")
    if "ca_file" in found:
        try:
            client_context(str(found["ca_file"]))
        except (OSError, ssl.SSLError) as err:
            reason = getattr(err, "reason", None) or err.strerror or type(err).__name__
            yield Finding(path=(*path, "ca_file"), message=f"CA file does not load: {reason}")


# -- warnings: legal, but probably not what the admin meant ------------------------


def warnings(plan: Dialplan) -> list[Finding]:
    return [*_shadowed_numbers(plan), *_trunk_sources_shared_with_phones(plan)]


def _shadowed_numbers(plan: Dialplan) -> Iterator[Finding]:
    """A number with the digits of a feature code.  Which wins: the feature
    code, for the plan's own users (they dial it); trunk callers never reach
    feature codes, so for them the number applies (if the trunk may reach it)."""
    for code, dialled in plan.feature_codes.model_dump().items():
        if dialled in plan.numbers:
            message = (
                f"number '{dialled}' is also feature_codes.{code}: users dialling it get the "
                f"feature code; only trunk callers can reach this number (if not internal_only)"
            )
            yield Finding(path=("numbers", dialled), message=message, at_key=True)


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _trunk_sources_shared_with_phones(plan: Dialplan) -> Iterator[Finding]:
    """A trunk source (any port) that covers loopback or the listen host: phones
    registering from there are taken as the trunk and never challenged."""
    phone_hosts: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(_LOOPBACK)
    for host in {plan.server.listen_host, plan.server.contact_host}:
        try:
            phone_hosts.append(ipaddress.ip_network(host))
        except ValueError:
            continue  # a name, or unspecified: nothing to compare
    for name, trunk in plan.trunks.items():
        for index, source in enumerate(trunk.inbound_sources):
            network, port = parse_source(source)
            if port is not None:
                continue
            shared = next(
                (h for h in phone_hosts if h.version == network.version and network.overlaps(h)),
                None,
            )
            if shared is None or shared.is_unspecified:
                continue
            what = "loopback" if any(shared == lo for lo in _LOOPBACK) else "the listen host"
            address = network.network_address
            example = f"[{address}]:5070" if network.version == 6 else f"{address}:5070"
            hint = f"its port ('{example}')" if network.num_addresses == 1 else "its own address"
            message = (
                f"'{source}' covers {what}, where phones register from: their requests are "
                f"taken as trunk '{name}' and never challenged; give the provider's "
                f"address with {hint}"
            )
            yield Finding(path=("trunks", name, "inbound_sources", index), message=message)
