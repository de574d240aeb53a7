"""Jono's media engine: RTP, codecs, SDP, prompts, bridging, DTMF, recording."""
