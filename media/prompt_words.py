"""Words and phrases of the system prompts, and how announcements are composed.

Theory of operation
-------------------
Every system prompt is one short audio fragment named after what it says
(``you_are_caller_number``, ``num_23``, ``minutes``...). This module holds

* the text of every fragment in every language (``prompt_text``), used by
  ``scripts/build_prompts`` to render the fragments with espeak-ng and usable
  as text-to-speech input wherever a recording is missing;
* number words 1..99 written out whole (Finnish and Swedish numbers are single
  compound words, "kaksikymmentäkolme", "tjugotre": they are not composed from
  "twenty" + "three" at play-out time);
* the composition rules that turn a queue position or an estimated waiting
  time into a list of fragment names (``position_sequence``,
  ``ewt_sequence``). The media engine plays such a list gaplessly with
  ``PromptLibrary.concat``.

Pure: no I/O, standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

LANGUAGES: tuple[str, ...] = ("en", "fi", "sv")
"""Languages the build script renders. English is the fallback language."""

FALLBACK_LANGUAGE = "en"

MAX_NUMBER = 99
"""Highest number rendered as a word; anything above is "more than 99"."""

DEFAULT_EWT_CAP_MINUTES = 30
"""Waiting times above this many minutes are announced as "more than N"."""

# espeak-ng voice per language (espeak-ng --voices).
ESPEAK_VOICES: Mapping[str, str] = {"en": "en-gb", "fi": "fi", "sv": "sv"}

# Index = value; index 0 is unused.
# fmt: off
_EN_ONES = (
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen",
)
_EN_TENS = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)
_FI_ONES = (
    "", "yksi", "kaksi", "kolme", "neljä", "viisi", "kuusi", "seitsemän", "kahdeksan",
    "yhdeksän", "kymmenen",
)
_SV_ONES = (
    "", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio",
    "tio", "elva", "tolv", "tretton", "fjorton", "femton", "sexton", "sjutton",
    "arton", "nitton",
)
_SV_TENS = (
    "", "", "tjugo", "trettio", "fyrtio", "femtio", "sextio", "sjuttio", "åttio", "nittio",
)
# fmt: on


def _english(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def _finnish(n: int) -> str:
    # Finnish: 11..19 are "<ones>toista"; tens are "<ones>kymmentä"; the
    # units follow the tens in the same word ("kaksikymmentäkolme").
    if n <= 10:
        return _FI_ONES[n]
    if n < 20:
        return _FI_ONES[n - 10] + "toista"
    tens, ones = divmod(n, 10)
    return _FI_ONES[tens] + "kymmentä" + (_FI_ONES[ones] if ones else "")


def _swedish(n: int) -> str:
    # Swedish: counting form ("ett"); tens and units in one word ("tjugotre").
    if n < 20:
        return _SV_ONES[n]
    tens, ones = divmod(n, 10)
    return _SV_TENS[tens] + (_SV_ONES[ones] if ones else "")


_NUMBER_SPELLERS = {"en": _english, "fi": _finnish, "sv": _swedish}


def number_words(lang: str, n: int) -> str:
    """The number ``n`` (1..99) written out as one word group in ``lang``."""
    if not 1 <= n <= MAX_NUMBER:
        raise ValueError(f"number {n} out of range 1..{MAX_NUMBER}")
    try:
        speller = _NUMBER_SPELLERS[lang]
    except KeyError:
        raise KeyError(f"no number words for language {lang!r}") from None
    return speller(n)


def number_name(n: int) -> str:
    """Fragment name of the number word ``n``: ``num_<n>``."""
    if not 1 <= n <= MAX_NUMBER:
        raise ValueError(f"number {n} out of range 1..{MAX_NUMBER}")
    return f"num_{n}"


# Phrase texts. Grammar notes: Finnish uses the partitive after numbers other
# than one ("kaksi minuuttia"); Swedish "minut" is common gender, so "one
# minute" is "en minut", not the counting form "ett" (see ONE_MINUTE below).
PHRASES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "logged_in": "You are logged in and ready for calls.",
        "logged_out": "You are logged out.",
        "paused": "You are paused. You will get no calls.",
        "unpaused": "You are ready for calls again.",
        "more_than": "more than",
        "minute": "minute",
        "minutes": "minutes",
        "second": "second",
        "seconds": "seconds",
        "one_minute": "one minute",
        "less_than_a_minute": "less than a minute",
        "you_are_caller_number": "You are caller number",
        "you_are_next": "You are next in line.",
        "estimated_wait_is": "The estimated waiting time is",
        "still_in_queue": "You are still in the queue. Please hold.",
        "thank_you_for_waiting": "Thank you for waiting.",
        "welcome": (
            "Thank you for calling. All our agents are busy. "
            "Please hold, we will answer as soon as possible."
        ),
        "callback_offer": "To be called back instead of waiting, press one.",
        "callback_confirmed": ("Thank you. We will call you back as soon as possible."),
        "callback_enter_number": (
            "Please enter the number we should call back, followed by the hash key."
        ),
        "callback_confirm_number": (
            "We will call you back at the number you are calling from. To confirm, press one. "
            "To give another number, press two."
        ),
        "callback_choose_time": "When should we call you back? As soon as possible, press one.",
        "closed": ("We are closed at the moment. Please call again during our opening hours."),
        "not_in_service": "The number you have called is not in service.",
        "invalid": "That is not a valid choice.",
        "goodbye": "Goodbye.",
        "please_try_again": "Please try again.",
        "no_input": "We did not receive your choice.",
        "echo_test": (
            "This is the echo test. Speak, and you will hear your own voice. "
            "Hang up to end the test."
        ),
        "zero": "zero",
        "vm_person_at_extension": "The person at extension",
        "vm_not_available": "is not available.",
        "vm_leave_message": (
            "Please leave your message after the tone. When you are done, press the hash key "
            "or hang up."
        ),
        "vm_message_saved": "Your message has been saved. Goodbye.",
        "vm_enter_pin": "Please enter your PIN, followed by the hash key.",
        "vm_wrong_pin": "That PIN is not correct.",
        "vm_you_have": "You have",
        "vm_new_message": "new message",
        "vm_new_messages": "new messages",
        "vm_saved_message": "saved message",
        "vm_saved_messages": "saved messages",
        "vm_and": "and",
        "vm_no_messages": "You have no messages.",
        "vm_main_menu": (
            "To listen to your messages, press one. To record your greeting, press zero. "
            "To end, press star."
        ),
        "vm_message_menu": (
            "To hear the message again, press five. For the next message, press six. "
            "To delete it, press seven. To save it, press nine."
        ),
        "vm_deleted": "Message deleted.",
        "vm_saved": "Message saved.",
        "vm_no_more_messages": "There are no more messages.",
        "vm_record_greeting": (
            "Record your greeting after the tone. When you are done, press the hash key."
        ),
        "vm_greeting_saved": "Your greeting has been saved.",
        "forwarding_on": "Call forwarding is on.",
        "forwarding_off": "Call forwarding is off.",
        "call_recorded": "This call is recorded.",
    },
    "fi": {
        "logged_in": "Olet kirjautunut sisään ja valmiina ottamaan puheluita.",
        "logged_out": "Olet kirjautunut ulos.",
        "paused": "Olet tauolla. Et saa puheluita.",
        "unpaused": "Olet taas valmiina ottamaan puheluita.",
        "more_than": "yli",
        "minute": "minuutti",
        "minutes": "minuuttia",
        "second": "sekunti",
        "seconds": "sekuntia",
        "one_minute": "yksi minuutti",
        "less_than_a_minute": "alle minuutti",
        "you_are_caller_number": "Olet jonossa numero",
        "you_are_next": "Olet seuraavana vuorossa.",
        "estimated_wait_is": "Arvioitu odotusaika on",
        "still_in_queue": "Olet edelleen jonossa. Ole hyvä ja odota.",
        "thank_you_for_waiting": "Kiitos odottamisesta.",
        "welcome": (
            "Kiitos soitostasi. Kaikki asiakaspalvelijamme ovat varattuina. "
            "Ole hyvä ja odota, vastaamme mahdollisimman pian."
        ),
        "callback_offer": "Jos haluat, että soitamme sinulle takaisin, paina yksi.",
        "callback_confirmed": ("Kiitos. Soitamme sinulle takaisin mahdollisimman pian."),
        "callback_enter_number": (
            "Näppäile numero, johon soitamme takaisin, ja paina lopuksi risuaita."
        ),
        "callback_confirm_number": (
            "Soitamme sinulle takaisin numeroon, josta soitat. Vahvista painamalla yksi. "
            "Jos haluat antaa toisen numeron, paina kaksi."
        ),
        "callback_choose_time": "Milloin soitamme sinulle? Mahdollisimman pian, paina yksi.",
        "closed": "Olemme tällä hetkellä suljettu. Soita uudelleen aukioloaikanamme.",
        "not_in_service": "Valitsemasi numero ei ole käytössä.",
        "invalid": "Valinta ei kelpaa.",
        "goodbye": "Näkemiin.",
        "please_try_again": "Yritä uudelleen.",
        "no_input": "Emme saaneet valintaasi.",
        "echo_test": (
            "Tämä on kaikutesti. Puhu, niin kuulet oman äänesi. Lopeta testi sulkemalla puhelu."
        ),
        "zero": "nolla",
        "vm_person_at_extension": "Henkilö numerossa",
        "vm_not_available": "ei ole tavoitettavissa.",
        "vm_leave_message": (
            "Jätä viestisi äänimerkin jälkeen. Kun olet valmis, paina risuaitaa tai sulje "
            "puhelu."
        ),
        "vm_message_saved": "Viestisi on tallennettu. Näkemiin.",
        "vm_enter_pin": "Näppäile tunnuslukusi ja paina lopuksi risuaitaa.",
        "vm_wrong_pin": "Tunnusluku ei ole oikein.",
        "vm_you_have": "Sinulla on",
        "vm_new_message": "uusi viesti",
        "vm_new_messages": "uutta viestiä",
        "vm_saved_message": "tallennettu viesti",
        "vm_saved_messages": "tallennettua viestiä",
        "vm_and": "ja",
        "vm_no_messages": "Sinulla ei ole viestejä.",
        "vm_main_menu": (
            "Kuuntele viestisi painamalla yksi. Nauhoita tervehdyksesi painamalla nolla. "
            "Lopeta painamalla tähteä."
        ),
        "vm_message_menu": (
            "Kuuntele viesti uudelleen painamalla viisi. Seuraava viesti, paina kuusi. "
            "Poista viesti painamalla seitsemän. Tallenna se painamalla yhdeksän."
        ),
        "vm_deleted": "Viesti poistettu.",
        "vm_saved": "Viesti tallennettu.",
        "vm_no_more_messages": "Ei enempää viestejä.",
        "vm_record_greeting": (
            "Nauhoita tervehdyksesi äänimerkin jälkeen. Kun olet valmis, paina risuaitaa."
        ),
        "vm_greeting_saved": "Tervehdyksesi on tallennettu.",
        "forwarding_on": "Soitonsiirto on päällä.",
        "forwarding_off": "Soitonsiirto on pois päältä.",
        "call_recorded": "Tämä puhelu nauhoitetaan.",
    },
    "sv": {
        "logged_in": "Du är inloggad och redo att ta samtal.",
        "logged_out": "Du är utloggad.",
        "paused": "Du har paus. Du får inga samtal.",
        "unpaused": "Du är redo att ta samtal igen.",
        "more_than": "mer än",
        "minute": "minut",
        "minutes": "minuter",
        "second": "sekund",
        "seconds": "sekunder",
        "one_minute": "en minut",
        "less_than_a_minute": "mindre än en minut",
        "you_are_caller_number": "Du har köplats nummer",
        "you_are_next": "Du står näst på tur.",
        "estimated_wait_is": "Den beräknade väntetiden är",
        "still_in_queue": "Du står fortfarande i kö. Var god vänta.",
        "thank_you_for_waiting": "Tack för att du väntar.",
        "welcome": (
            "Tack för att du ringer. Alla våra handläggare är upptagna. "
            "Var god vänta, vi svarar så snart som möjligt."
        ),
        "callback_offer": "Om du vill bli uppringd i stället för att vänta, tryck ett.",
        "callback_confirmed": ("Tack. Vi ringer upp dig så snart som möjligt."),
        "callback_enter_number": ("Slå det nummer vi ska ringa upp, och avsluta med fyrkant."),
        "callback_confirm_number": (
            "Vi ringer upp dig på numret du ringer från. Tryck ett för att bekräfta. "
            "Tryck två för att ange ett annat nummer."
        ),
        "callback_choose_time": "När ska vi ringa upp dig? Så snart som möjligt, tryck ett.",
        "closed": "Vi har stängt just nu. Välkommen att ringa igen under våra öppettider.",
        "not_in_service": "Numret du har ringt är inte i bruk.",
        "invalid": "Ogiltigt val.",
        "goodbye": "Hej då.",
        "please_try_again": "Försök igen.",
        "no_input": "Vi fick inget val från dig.",
        "echo_test": (
            "Det här är ekotestet. Tala, så hör du din egen röst. Lägg på för att avsluta testet."
        ),
        "zero": "noll",
        "vm_person_at_extension": "Personen på anknytning",
        "vm_not_available": "kan inte svara just nu.",
        "vm_leave_message": (
            "Lämna ditt meddelande efter tonen. När du är klar, tryck fyrkant eller lägg på."
        ),
        "vm_message_saved": "Ditt meddelande har sparats. Hej då.",
        "vm_enter_pin": "Slå din PIN-kod och avsluta med fyrkant.",
        "vm_wrong_pin": "PIN-koden är inte rätt.",
        "vm_you_have": "Du har",
        "vm_new_message": "nytt meddelande",
        "vm_new_messages": "nya meddelanden",
        "vm_saved_message": "sparat meddelande",
        "vm_saved_messages": "sparade meddelanden",
        "vm_and": "och",
        "vm_no_messages": "Du har inga meddelanden.",
        "vm_main_menu": (
            "För att lyssna på dina meddelanden, tryck ett. För att spela in din hälsning, "
            "tryck noll. För att avsluta, tryck stjärna."
        ),
        "vm_message_menu": (
            "För att höra meddelandet igen, tryck fem. För nästa meddelande, tryck sex. "
            "För att radera det, tryck sju. För att spara det, tryck nio."
        ),
        "vm_deleted": "Meddelandet raderat.",
        "vm_saved": "Meddelandet sparat.",
        "vm_no_more_messages": "Det finns inga fler meddelanden.",
        "vm_record_greeting": (
            "Spela in din hälsning efter tonen. När du är klar, tryck fyrkant."
        ),
        "vm_greeting_saved": "Din hälsning har sparats.",
        "forwarding_on": "Vidarekoppling är på.",
        "forwarding_off": "Vidarekoppling är av.",
        "call_recorded": "Det här samtalet spelas in.",
    },
}

PHRASE_NAMES: tuple[str, ...] = tuple(PHRASES[FALLBACK_LANGUAGE])

NUMBER_NAMES: tuple[str, ...] = tuple(number_name(n) for n in range(1, MAX_NUMBER + 1))

REQUIRED_PROMPTS: tuple[str, ...] = PHRASE_NAMES + NUMBER_NAMES
"""Every fragment the build script renders for every language in LANGUAGES."""

MOH_CLASSES: tuple[str, ...] = ("default",)
"""Music-on-hold classes the build script renders (prompts/moh/<class>.wav)."""

# Languages whose counting form of 1 does not agree with "minute": there the
# whole "one minute" is its own fragment.
_ONE_MINUTE_FRAGMENT: Mapping[str, tuple[str, ...]] = {"sv": ("one_minute",)}


def prompt_text(lang: str, name: str) -> str:
    """The words spoken by fragment ``name`` in ``lang`` (for TTS)."""
    if name.startswith("num_") and name[4:].isdigit():
        return number_words(lang, int(name[4:]))
    try:
        return PHRASES[lang][name]
    except KeyError:
        raise KeyError(f"no text for prompt {name!r} in language {lang!r}") from None


def position_sequence(lang: str, position: int) -> list[str]:
    """Fragments announcing queue ``position`` (1 = next to be served)."""
    if position < 1:
        raise ValueError(f"queue position {position} must be >= 1")
    if position == 1:
        return ["you_are_next"]
    if position > MAX_NUMBER:
        return ["you_are_caller_number", "more_than", number_name(MAX_NUMBER)]
    return ["you_are_caller_number", number_name(position)]


def _counted_minutes(lang: str, minutes: int) -> list[str]:
    if minutes == 1:
        special = _ONE_MINUTE_FRAGMENT.get(lang)
        if special is not None:
            return list(special)
        return [number_name(1), "minute"]
    return [number_name(minutes), "minutes"]


def ewt_sequence(
    lang: str, seconds: float, *, cap_minutes: int = DEFAULT_EWT_CAP_MINUTES
) -> list[str]:
    """Fragments announcing an estimated waiting time of ``seconds``.

    Under a minute: "the estimated waiting time is less than a minute".
    Otherwise whole minutes rounded up ("61 s" is two minutes); above
    ``cap_minutes`` it is "more than <cap> minutes".
    """
    if not 2 <= cap_minutes <= MAX_NUMBER:
        raise ValueError(f"cap_minutes {cap_minutes} must be in 2..{MAX_NUMBER}")
    if not seconds >= 0:  # also rejects NaN
        raise ValueError(f"waiting time {seconds} s must be >= 0")
    if seconds < 60:
        return ["estimated_wait_is", "less_than_a_minute"]
    minutes = math.ceil(seconds / 60)
    if minutes > cap_minutes:
        return ["estimated_wait_is", "more_than", number_name(cap_minutes), "minutes"]
    return ["estimated_wait_is", *_counted_minutes(lang, minutes)]
