"""Drivers for the real SIP peers the end-to-end tests run against Jono.

Each module wraps one program nobody on this project wrote: SIPp
(``sipp.py``), a pjsua2 phone in its own process (``pjsua_phone.py``),
baresip (``baresip.py``); ``audio.py`` makes and checks test tones.
"""
