"""The service face: the per-port daemon, sd_notify, the journal, exit codes."""
