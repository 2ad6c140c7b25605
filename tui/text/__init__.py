"""Words for people: terminal-safe text, durations and counts, batch descriptions. No Textual.

Shared by the command line and the board, so that both say the same thing the same way.
"""
