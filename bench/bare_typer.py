"""The baseline for --help: a bare one-command Typer app."""

import typer

app = typer.Typer()


@app.command()
def main(name: str = "world") -> None:
    """Say hello."""
    print(f"hello {name}")


if __name__ == "__main__":
    app()
