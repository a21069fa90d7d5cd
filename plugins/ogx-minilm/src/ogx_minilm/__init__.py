"""OGX inference provider `inline::minilm`: sentence embeddings from all-MiniLM-L6-v2 on ONNX Runtime."""
