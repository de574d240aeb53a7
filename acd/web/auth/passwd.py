"""``jono passwd USER``: set a user's web password (the CLI wiring is the caller's).

Interactive: the password is asked twice with ``getpass`` (not echoed).
With ``--stdin`` (scripts): the first line of standard input is the
password. The password is never printed or logged. When the server keeps
its sessions in the shared store, pass it: the user's sessions end.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Collection
from typing import TextIO

from acd.web.auth.passwords import PasswordHasher, PasswordPolicyError, check_new_password
from acd.web.auth.repository import AccountRepository
from acd.web.auth.sessions import SessionStore

log = logging.getLogger("jono.auth")


class PasswdError(Exception):
    """Why the password was not set; the message is for the terminal."""


async def set_password(
    accounts: AccountRepository,
    user: str,
    password: str,
    *,
    hasher: PasswordHasher | None = None,
    sessions: SessionStore | None = None,
) -> int:
    """Check and store a new password; returns how many sessions were ended."""
    try:
        check_new_password(user, password)
    except PasswordPolicyError as exc:
        raise PasswdError(str(exc)) from None
    hasher = hasher or PasswordHasher()
    await accounts.set_password_hash(user, await hasher.hash_async(password))
    ended = await sessions.remove_user(user) if sessions is not None else 0
    log.info("web password set: user=%r sessions_ended=%d", user[:64], ended)
    return ended


def read_password(
    *,
    from_stdin: bool,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> str:
    """The new password, from a terminal (asked twice) or the first line of stdin."""
    if from_stdin:
        line = (stdin or sys.stdin).readline()
        if not line:
            raise PasswdError("no password on standard input")
        return line.rstrip("\r\n")
    first = ask("New web password: ")
    second = ask("Repeat it: ")
    if first != second:
        raise PasswdError("the two passwords differ; nothing changed")
    return first


def passwd_command(
    accounts: AccountRepository,
    user: str,
    *,
    from_stdin: bool = False,
    known_users: Collection[str] | None = None,
    sessions: SessionStore | None = None,
    hasher: PasswordHasher | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> int:
    """Run ``jono passwd USER``; the exit status (0 set, 1 refused, 2 usage)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if known_users is not None and user not in known_users:
        print(f"jono passwd: no user {user!r} in the dial plan", file=err)
        return 2
    try:
        password = read_password(from_stdin=from_stdin, stdin=stdin, ask=ask)
        ended = asyncio.run(
            set_password(accounts, user, password, hasher=hasher, sessions=sessions)
        )
    except PasswdError as exc:
        print(f"jono passwd: {exc}", file=err)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("jono passwd: cancelled; nothing changed", file=err)
        return 1
    suffix = f"; {ended} web session(s) ended" if ended else ""
    print(f"web password set for {user}{suffix}", file=out)
    return 0
