"""A feature code the ACD refuses tells the phone why (issue 11 point 3)."""

from __future__ import annotations

import pytest

from acd.contact.features import _reason_phrase


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        ("dave is not a member of any queue: no queues to log in to", "No Queues To Log In To"),
        ("dave cannot pause now", "Cannot Pause Now"),
        ("dave is not a member of queue 'sales'", "Is Not A Member Of Queue Sales"),
        ("dave\r\nX-Injected: 1\r\n", "1"),
    ],
)
def test_the_refusal_reason_is_the_acd_s_reason_as_a_phrase(error: str, phrase: str) -> None:
    assert _reason_phrase("dave", error) == phrase
