"""Use cases. Each takes a Workspace and plain values, returns a result object, never prints."""
