"""Jono's SIP stack: a sans-I/O core (messages, transactions, dialogs, auth,
registrar) and thin asyncio transports.  Imports the standard library only."""
