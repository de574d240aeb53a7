"""WebRTC media legs: ICE, DTLS-SRTP and Opus for browser softphones (P1, P3)."""
