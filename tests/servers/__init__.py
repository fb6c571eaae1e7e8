"""Fake destination servers for the delivery tests: real HTTP (and SMTP) servers on
127.0.0.1, each implementing the documented request and response shapes of the API it
stands for, with a log of every request and ways to fail."""
