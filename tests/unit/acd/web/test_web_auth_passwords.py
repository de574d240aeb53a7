"""argon2id hashes, one cost for known and unknown users, and `jono passwd`'s logic."""

from __future__ import annotations

import io
import statistics
import time

import pytest

from acd.web.auth import MemoryAccounts, MemorySessions, PasswordHasher, passwd_command
from acd.web.auth.passwords import FAST_TEST_PARAMETERS
from acd.web.auth.sessions import new_session

FAST = PasswordHasher(FAST_TEST_PARAMETERS)


def test_hash_is_argon2id_and_verifies():
    stored = FAST.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert FAST.verify(stored, "correct horse battery")
    assert not FAST.verify(stored, "correct horse battery!")


def test_missing_or_broken_hash_never_matches():
    assert not FAST.verify(None, "")
    assert not FAST.verify(None, "anything at all")
    assert not FAST.verify("not-a-hash", "anything at all")
    assert not FAST.verify(FAST.hash("x" * 2000), "x" * 2000)  # over the length bound


def test_unknown_user_costs_as_much_as_a_wrong_password():
    hasher = PasswordHasher()  # the real cost: the comparison must hold there
    stored = hasher.hash("the-real-password")

    def median(stored_hash: str | None) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            hasher.verify(stored_hash, "a-wrong-password")
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = median(stored), median(None)
    assert 0.5 < unknown / known < 2.0, (known, unknown)


def test_weaker_parameters_are_rehashed():
    assert PasswordHasher().needs_rehash(FAST.hash("some password"))
    assert not FAST.needs_rehash(FAST.hash("some password"))


def _run(accounts, user="bob", *, answers=(), stdin="", known=("bob",), sessions=None):
    replies = iter(answers)
    out, err = io.StringIO(), io.StringIO()
    status = passwd_command(
        accounts,
        user,
        from_stdin=not answers,
        known_users=known,
        sessions=sessions,
        hasher=FAST,
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        ask=lambda prompt: next(replies),
    )
    return status, out.getvalue(), err.getvalue()


def test_passwd_asks_twice_and_stores_only_a_hash():
    accounts = MemoryAccounts()
    status, out, err = _run(accounts, answers=("bobs-new-password", "bobs-new-password"))
    assert (status, out, err) == (0, "web password set for bob\n", "")
    stored = accounts._passwords["bob"]
    assert stored.startswith("$argon2id$") and FAST.verify(stored, "bobs-new-password")


def test_passwd_refuses_two_different_answers():
    accounts = MemoryAccounts()
    status, _, err = _run(accounts, answers=("bobs-new-password", "bobs-new-passw0rd"))
    assert status == 1 and "differ" in err and accounts._passwords == {}


def test_passwd_from_stdin_for_scripts_and_never_echoes_it():
    accounts = MemoryAccounts()
    status, out, err = _run(accounts, stdin="scripted-secret-77\n")
    assert status == 0 and "scripted-secret-77" not in out + err
    assert FAST.verify(accounts._passwords["bob"], "scripted-secret-77")


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "at least 10"), ("BOB       ", "user name"), ("", "at least")],
)
def test_passwd_refuses_weak_passwords(password, reason):
    accounts = MemoryAccounts()
    status, _, err = _run(accounts, stdin=password + "\n")
    assert status == 1 and reason in err and accounts._passwords == {}


def test_passwd_refuses_a_user_not_in_the_plan():
    status, _, err = _run(MemoryAccounts(), "mallory", stdin="long-enough-pass\n")
    assert status == 2 and "no user 'mallory'" in err


async def test_passwd_ends_the_users_sessions():
    sessions = MemorySessions()
    for user in ("bob", "bob", "alice"):
        await sessions.add(new_session(user, "127.0.0.1", 0.0)[1])
    status, out, _ = _run_in_thread(sessions)
    assert status == 0 and "2 web session(s) ended" in out
    assert await sessions.remove_user("alice") == 1


def _run_in_thread(sessions):
    # passwd_command runs its own event loop (it is a CLI): call it off this test's loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(
            _run, MemoryAccounts(), stdin="long-enough-pass\n", sessions=sessions
        ).result()
