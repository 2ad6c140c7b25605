"""The Textual application: the App, its screens, widgets and stylesheet.

The only package that imports Textual; ``tui.cli`` imports it lazily, when the board runs.
"""
