"""Provider names the Bifrost gateway knows (from its batch API reference)."""

KNOWN_PROVIDERS: frozenset[str] = frozenset(
    {
        "openai", "azure", "anthropic", "bedrock", "cohere", "vertex", "vllm", "mistral",
        "ollama", "groq", "sgl", "parasail", "perplexity", "replicate", "cerebras", "gemini",
        "openrouter", "elevenlabs", "huggingface", "nebius", "xai", "runway", "fireworks",
    }
)
