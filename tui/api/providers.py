"""What a provider's batches mean, as Bifrost's own source sends them. The one place for it.

Bifrost maps every provider's batch API onto one schema (``core/schemas/batch.go``), but
the numbers in it mean different things per provider, and some providers report counts
only when a batch ends. Widgets, the CLI and the monitor never test provider names: they
ask the :class:`ProviderTraits` of a batch's provider, found here.

Each fact names the Bifrost source it was read from (GitHub maximhq/bifrost).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderTraits:
    """How one provider's batches read through Bifrost."""

    name: str
    known: bool = True
    """False for a provider batchtop has not been taught about: read with OpenAI defaults."""
    counts_while_running: bool = True
    """False when the counts stay at their starting values until the batch ends, so that
    progress, rate, ETA and stall cannot be judged from them while it runs."""
    completed_counts_failures: bool = False
    """True when ``completed`` counts every processed request, failures included, so that
    succeeded = completed - failed (Gemini). Otherwise ``completed`` counts the successes."""
    list_has_counts: bool = True
    """False when list items carry no counts (all zero): only a retrieve has them."""
    pages_with_after: bool = True
    """False when the gateway does not pass ``after`` on to the provider, so that every
    "next" page repeats the first one (see the client's repeat detection)."""
    source: str = "core/providers/openai/batch.go"
    why: str = ""
    """One sentence for a person: what this provider's batches show and why."""


_OPENAI = ProviderTraits("openai", why="Counts move as requests finish; completed counts successes.")

_TRAITS: dict[str, ProviderTraits] = {
    "openai": _OPENAI,
    # core/providers/anthropic/batch.go ToBifrostBatchRetrieveResponse: total = processing +
    # succeeded + errored + canceled + expired, completed = succeeded, failed = errored,
    # pending = processing. Anthropic's API reference: "Requests start as processing and move
    # to one of the other statuses only once processing of the entire batch ends".
    # BatchList (anthropic.go) reads request.AfterID, which /v1/batches never fills.
    "anthropic": ProviderTraits(
        "anthropic",
        counts_while_running=False,
        pages_with_after=False,
        source="core/providers/anthropic/batch.go",
        why="Anthropic reports a batch's counts only when it ends: until then all are pending.",
    ),
    # core/providers/bedrock/bedrock.go BatchList sets no counts; BatchRetrieve reads them from
    # {output}/manifest.json.out, which exists only once the job has ended ("404 is expected if
    # job is still in progress"). BatchList reads request.PageToken, which /v1/batches never
    # fills (transports/bifrost-http/handlers/inference.go sets After only).
    "bedrock": ProviderTraits(
        "bedrock",
        counts_while_running=False,
        list_has_counts=False,
        pages_with_after=False,
        source="core/providers/bedrock/bedrock.go",
        why="Bedrock writes a job's counts (its output manifest) only when the job ends; lists carry none.",
    ),
    # core/providers/gemini/gemini.go batchRetrieveByKey: completed = requestCount -
    # pendingRequestCount, failed = completed - successfulRequestCount, succeeded and pending
    # sent (when non-zero); batchListByKey sets no counts and reads PageToken, not After.
    "gemini": ProviderTraits(
        "gemini",
        completed_counts_failures=True,
        list_has_counts=False,
        pages_with_after=False,
        source="core/providers/gemini/gemini.go",
        why="Gemini's completed counts failures too (succeeded = completed - failed); lists carry no counts.",
    ),
    # core/providers/vertex (vertexBatchJobToBifrost): total = successful + failed +
    # incomplete, completed = successful, failed = failed; display_name; reads After.
    "vertex": ProviderTraits(
        "vertex",
        source="core/providers/vertex/batch.go",
        why="Vertex counts read like OpenAI's; its jobs carry a display_name.",
    ),
}

# Providers Bifrost names in core/schemas (ModelProvider constants). Those without batch
# support answer unsupported_operation, which batchtop shows as "unavailable". Any other
# name is accepted too (deployments name custom providers) and read with OpenAI defaults.
KNOWN_PROVIDERS: frozenset[str] = frozenset(
    {
        "openai",
        "azure",
        "anthropic",
        "bedrock",
        "cohere",
        "vertex",
        "vllm",
        "mistral",
        "ollama",
        "groq",
        "sgl",
        "parasail",
        "perplexity",
        "replicate",
        "cerebras",
        "gemini",
        "openrouter",
        "elevenlabs",
        "huggingface",
        "nebius",
        "xai",
        "runway",
        "fireworks",
        "gigachat",
    }
)


@functools.lru_cache(maxsize=256)
def traits(provider: str) -> ProviderTraits:
    """The traits of ``provider``; OpenAI-shaped defaults for one batchtop does not know."""
    name = provider.strip().lower()
    found = _TRAITS.get(name)
    if found is not None:
        return found
    return ProviderTraits(
        name, known=name in KNOWN_PROVIDERS, why="Read as OpenAI-shaped: counts move as requests finish."
    )


def is_known(provider: str) -> bool:
    return traits(provider).known


def described() -> list[ProviderTraits]:
    """The providers with batches of their own shape, for help and the README."""
    return list(_TRAITS.values())
