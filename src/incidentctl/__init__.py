"""incidentctl: run production incidents from the terminal, with the timeline in git."""

__version__ = "0.1.0"
