"""Cancelling batches, shared by the board and the command line: sending, the audit log.
No Textual."""
