"""OGX inference provider `remote::ollama`: Ollama's OpenAI-compatible API plus its native model API."""
