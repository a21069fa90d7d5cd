"""OGX inference provider `inline::llama-cpp`: a GGUF model run in-process by llama-cpp-python."""
