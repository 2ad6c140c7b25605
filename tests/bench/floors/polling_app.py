"""Floor: the least a Textual app that polls a gateway costs here — a Static, a Footer, and
at every INTERVAL seconds the requests batchtop's idle poll round makes: one page-one list
per provider (``limit`` 20, what page one shrinks to past the live batches), through one
httpx.AsyncClient on asyncio, each answer decoded from JSON and nothing else done with it.

    polling_app.py BASE_URL [--interval 2] [--provider P ...]

It says "ready" once the first round is answered. batchtop's idle CPU minus this is what
batchtop itself adds (board, signals, table) over the transport every poller pays.
"""

import argparse
import asyncio
import json

import httpx
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class PollingApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, base_url: str, interval: float, providers: list[str]) -> None:
        super().__init__()
        self.animation_level = "none"
        self.base_url, self.interval, self.providers = base_url, interval, providers

    def compose(self) -> ComposeResult:
        yield Static("waiting", id="state")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self.poll(), exit_on_error=False)

    async def poll(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False) as client:
            first = True
            while True:
                answers = await asyncio.gather(
                    *(client.get("/v1/batches", params={"provider": p, "limit": 20}) for p in self.providers)
                )
                for answer in answers:
                    json.loads(answer.content)
                if first:
                    self.query_one("#state", Static).update("ready")
                    first = False
                await asyncio.sleep(self.interval)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--provider", action="append", default=[])
    args = parser.parse_args()
    PollingApp(args.base_url, args.interval, args.provider or ["openai", "anthropic", "bedrock", "gemini"]).run()
