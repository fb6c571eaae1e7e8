"""A reference, not a target: the stack floor plus one pydantic model, built and used.

`import pydantic` is lazy; the first model loads pydantic's schema machinery. Any
command that reads the config or an event pays this on top of the stack floor."""

import git  # noqa: F401  (these five: the stack floor)
import jinja2  # noqa: F401
import pydantic
import rich  # noqa: F401
import typer  # noqa: F401


class Event(pydantic.BaseModel):
    id: str
    at: int


Event(id="x", at=1)
