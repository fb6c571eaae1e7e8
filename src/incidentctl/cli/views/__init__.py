"""Terminal presentation of service results (Rich), above services. Builds output, never prints."""
