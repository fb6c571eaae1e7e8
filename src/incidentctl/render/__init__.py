"""Turning results into text and Rich renderables. Builds output; never prints it."""
