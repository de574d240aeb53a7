"""The contact centre: the ACD engine driven by real work, channel-neutral.

``centre`` runs the engine and carries out its decisions; ``agents`` is the
one place for agent commands; ``features`` the agents' phone codes;
``events`` the live event hub; ``channels`` the work kinds (voice today).
"""
