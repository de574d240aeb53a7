"""Number words, prompt texts and announcement composition (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.prompt_words import (
    LANGUAGES,
    MAX_NUMBER,
    NUMBER_NAMES,
    PHRASE_NAMES,
    REQUIRED_PROMPTS,
    ewt_sequence,
    number_words,
    position_sequence,
    prompt_text,
)


@pytest.mark.parametrize(
    ("lang", "n", "words"),
    [
        ("en", 1, "one"),
        ("en", 13, "thirteen"),
        ("en", 20, "twenty"),
        ("en", 23, "twenty-three"),
        ("en", 99, "ninety-nine"),
        ("fi", 1, "yksi"),
        ("fi", 10, "kymmenen"),
        ("fi", 11, "yksitoista"),
        ("fi", 19, "yhdeksäntoista"),
        ("fi", 20, "kaksikymmentä"),
        ("fi", 23, "kaksikymmentäkolme"),
        ("fi", 99, "yhdeksänkymmentäyhdeksän"),
        ("sv", 1, "ett"),
        ("sv", 18, "arton"),
        ("sv", 20, "tjugo"),
        ("sv", 23, "tjugotre"),
        ("sv", 71, "sjuttioett"),
        ("sv", 99, "nittionio"),
    ],
)
def test_numbers_are_written_as_whole_words(lang: str, n: int, words: str) -> None:
    assert number_words(lang, n) == words


@pytest.mark.parametrize("n", [0, 100, -1])
def test_numbers_outside_1_to_99_are_rejected(n: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        number_words("en", n)


def test_every_language_has_distinct_words_for_1_to_99() -> None:
    for lang in LANGUAGES:
        spoken = [number_words(lang, n) for n in range(1, MAX_NUMBER + 1)]
        assert len(set(spoken)) == MAX_NUMBER, lang


def test_every_required_prompt_has_text_in_every_language() -> None:
    for lang in LANGUAGES:
        for name in REQUIRED_PROMPTS:
            assert prompt_text(lang, name).strip(), (lang, name)


def test_required_prompts_include_numbers_and_queue_phrases() -> None:
    assert tuple(f"num_{n}" for n in range(1, 100)) == NUMBER_NAMES
    for name in (
        "more_than",
        "minute",
        "minutes",
        "second",
        "seconds",
        "less_than_a_minute",
        "you_are_caller_number",
        "you_are_next",
        "estimated_wait_is",
        "still_in_queue",
        "thank_you_for_waiting",
        "welcome",
        "callback_offer",
        "callback_confirmed",
        "callback_enter_number",
        "closed",
        "not_in_service",
        "invalid",
        "goodbye",
        "please_try_again",
        "no_input",
        "echo_test",
    ):
        assert name in PHRASE_NAMES


def test_finnish_uses_partitive_after_numbers_above_one() -> None:
    assert prompt_text("fi", "minute") == "minuutti"
    assert prompt_text("fi", "minutes") == "minuuttia"
    assert prompt_text("fi", "seconds") == "sekuntia"


def test_missing_text_names_language_and_prompt() -> None:
    with pytest.raises(KeyError, match="'nope'.*'fi'"):
        prompt_text("fi", "nope")


# -- position -----------------------------------------------------------------


def test_position_one_is_you_are_next() -> None:
    assert position_sequence("en", 1) == ["you_are_next"]


def test_position_two_is_caller_number_two() -> None:
    assert position_sequence("fi", 2) == ["you_are_caller_number", "num_2"]


def test_position_99_is_spoken_as_a_number() -> None:
    assert position_sequence("sv", 99) == ["you_are_caller_number", "num_99"]


def test_position_100_is_more_than_99() -> None:
    assert position_sequence("en", 100) == ["you_are_caller_number", "more_than", "num_99"]


def test_position_zero_is_rejected() -> None:
    with pytest.raises(ValueError, match="position 0"):
        position_sequence("en", 0)


@settings(max_examples=200, deadline=None)
@given(lang=st.sampled_from(LANGUAGES), position=st.integers(min_value=1, max_value=10**6))
def test_position_sequences_only_name_required_prompts(lang: str, position: int) -> None:
    assert set(position_sequence(lang, position)) <= set(REQUIRED_PROMPTS)


# -- estimated waiting time ---------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 0.5, 59, 59.99])
def test_ewt_under_a_minute_is_less_than_a_minute(seconds: float) -> None:
    assert ewt_sequence("en", seconds) == ["estimated_wait_is", "less_than_a_minute"]


def test_ewt_of_60_s_is_one_minute_singular() -> None:
    assert ewt_sequence("en", 60) == ["estimated_wait_is", "num_1", "minute"]
    assert ewt_sequence("fi", 60) == ["estimated_wait_is", "num_1", "minute"]


def test_ewt_of_one_minute_in_swedish_uses_common_gender_fragment() -> None:
    # "ett" is the counting form; "minut" needs "en minut".
    assert ewt_sequence("sv", 60) == ["estimated_wait_is", "one_minute"]


def test_ewt_of_61_s_rounds_up_to_two_minutes() -> None:
    assert ewt_sequence("fi", 61) == ["estimated_wait_is", "num_2", "minutes"]


def test_ewt_at_the_cap_is_spoken_exactly() -> None:
    assert ewt_sequence("en", 30 * 60) == ["estimated_wait_is", "num_30", "minutes"]


def test_ewt_of_3599_s_is_more_than_the_cap() -> None:
    assert ewt_sequence("en", 3599) == ["estimated_wait_is", "more_than", "num_30", "minutes"]


def test_ewt_cap_can_be_raised_to_99_minutes() -> None:
    assert ewt_sequence("en", 3599, cap_minutes=99) == ["estimated_wait_is", "num_60", "minutes"]
    assert ewt_sequence("en", 10**6, cap_minutes=99) == [
        "estimated_wait_is",
        "more_than",
        "num_99",
        "minutes",
    ]


@pytest.mark.parametrize("seconds", [-1, float("nan")])
def test_ewt_rejects_negative_or_nan(seconds: float) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        ewt_sequence("en", seconds)


@pytest.mark.parametrize("cap", [0, 1, 100])
def test_ewt_rejects_cap_outside_2_to_99(cap: int) -> None:
    with pytest.raises(ValueError, match="cap_minutes"):
        ewt_sequence("en", 100, cap_minutes=cap)


@settings(max_examples=200, deadline=None)
@given(
    lang=st.sampled_from(LANGUAGES),
    seconds=st.floats(min_value=0, max_value=10**7, allow_nan=False),
    cap=st.integers(min_value=2, max_value=99),
)
def test_ewt_never_announces_less_than_the_estimate(lang: str, seconds: float, cap: int) -> None:
    seq = ewt_sequence(lang, seconds, cap_minutes=cap)
    assert seq[0] == "estimated_wait_is"
    assert set(seq) <= set(REQUIRED_PROMPTS)
    numbers = [int(name[4:]) for name in seq if name.startswith("num_")]
    if seconds < 60:
        assert seq[1:] == ["less_than_a_minute"]
    elif "more_than" in seq:
        assert numbers == [cap] and seconds > cap * 60
    else:
        spoken = numbers[0] if numbers else 1  # sv "one_minute"
        assert spoken * 60 >= seconds > (spoken - 1) * 60
