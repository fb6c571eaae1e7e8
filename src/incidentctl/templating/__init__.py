"""Message templating: the Jinja2 sandbox, template lookup and per-format escaping.

Below services: it imports only domain code and errors."""
