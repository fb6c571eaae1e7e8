"""Pure domain code: models, policy, folding, time and ID rules. No I/O here."""
