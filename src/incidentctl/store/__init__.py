"""The incident repo on disk: locating it, its files, its lock and its git history."""
