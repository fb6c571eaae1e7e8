"""The outside world: clipboard, HTTP destinations, SMTP and the confirmed shell."""
