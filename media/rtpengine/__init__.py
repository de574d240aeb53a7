"""rtpengine as Jono's media plane: the ng control protocol and an engine adapter."""
