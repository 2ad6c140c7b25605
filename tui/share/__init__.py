"""``batchtop share``: the board, read-only, in browser tabs, for one poller's cost. No Textual.

- ``feed.py``    the one poller: polls the gateway, records every poll to the live feed
- ``viewer.py``  one tab's viewer: a ``batchtop replay --follow FEED`` process behind
                 Textual's web driver, with a minimal environment (never the key)
- ``access.py``  the token, Host and Origin rules textual-serve lacks
- ``page.py``    the page and its files (textual-serve's terminal, nothing from elsewhere)
- ``server.py``  the aiohttp server: the checks, the page, one websocket per tab, the cap
- ``sharing.py`` the command: the poller and the server together, until Ctrl-C
"""

from tui.share.access import Access, check_public_url, new_token
from tui.share.server import DEFAULT_MAX_VIEWERS, ShareServer
from tui.share.sharing import DEFAULT_PORT, ShareError, ShareSettings, share_board

__all__ = [
    "DEFAULT_MAX_VIEWERS",
    "DEFAULT_PORT",
    "Access",
    "ShareError",
    "ShareServer",
    "ShareSettings",
    "check_public_url",
    "new_token",
    "share_board",
]
