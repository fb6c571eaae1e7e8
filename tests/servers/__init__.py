"""Fake services on 127.0.0.1 for the destination tests: real sockets, the documented
request and response shapes, a log of every request read, and a script of failures."""
