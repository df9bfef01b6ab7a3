"""Verification of a device against the reference (`verifier`), its reports (`reports`)
and the `bedside verify` command (`cmd_verify`)."""
