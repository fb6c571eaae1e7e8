"""The command line: Typer apps, one module per command group. Thin: parse, call, render."""
