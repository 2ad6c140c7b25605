"""The page a viewer opens, and the files it loads: textual-serve's terminal (xterm.js in
``textual.js``, its stylesheet and font), served from the installed package under the
token's path. Nothing is loaded from anywhere else (textual-serve's own page pulls a
stylesheet from a public font CDN). No Textual."""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib.resources import files

STATIC_FILES = {
    "css/xterm.css": "text/css",
    "js/textual.js": "text/javascript",
    "fonts/RobotoMono-VariableFont_wght.ttf": "font/ttf",
}
"""The files of textual-serve's ``static`` folder the page uses, and their types."""

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the page's URL
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; "
        "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
}
"""Sent with every answer: nothing cached, the token never in a Referer, no framing by
another site (a framed board could be fed keys)."""


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str


def load_static_files() -> dict[str, StaticFile]:
    """The page's files, read once from the installed textual-serve."""
    root = files("textual_serve") / "static"
    return {name: StaticFile(root.joinpath(name).read_bytes(), kind) for name, kind in STATIC_FILES.items()}


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="stylesheet" href="static/css/xterm.css">
<style>
  @font-face {{ font-family: "Roboto Mono"; src: url("static/fonts/RobotoMono-VariableFont_wght.ttf"); }}
  html, body {{ margin: 0; height: 100%; background: #0c181f; color: #e0e0e0;
               font-family: "Roboto Mono", monospace; }}
  #terminal {{ position: absolute; inset: 0; }}
  .ended {{ display: none; position: absolute; inset: 0; z-index: 10; align-items: center;
           justify-content: center; background: rgba(12, 24, 31, 0.85); font-size: 16px; }}
  body.-closed .ended {{ display: flex; }}
</style>
<script>
  // The websocket is on this page's own host, whichever name or forwarded port reached it.
  window.addEventListener("DOMContentLoaded", function () {{
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    document.getElementById("terminal").dataset.sessionWebsocketUrl =
      scheme + location.host + location.pathname.replace(/\\/?$/, "/") + "ws";
  }});
</script>
<script src="static/js/textual.js"></script>
</head>
<body>
<div class="ended"><div>The shared board has closed (reload the page to open it again).</div></div>
<div id="terminal" class="textual-terminal" data-font-size="{font_size}"></div>
</body>
</html>
"""


def board_page(title: str, font_size: int = 16) -> str:
    return PAGE.format(title=html.escape(title), font_size=int(font_size))


REFUSED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>batchtop share</title></head>
<body style="font-family: monospace; background: #0c181f; color: #e0e0e0; padding: 2em">
<p>{message}</p></body></html>
"""


def refused_page(message: str) -> str:
    return REFUSED_PAGE.format(message=html.escape(message))
