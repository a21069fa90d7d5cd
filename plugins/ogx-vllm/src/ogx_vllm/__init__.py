"""OGX inference provider `remote::vllm`: vLLM's OpenAI-compatible server."""
