"""Test support for OGX providers, shipped as the pytest plugin `ogx` (entry point `pytest11`).

- `ogx_api.testing.inference.InferenceProviderConformance`: the inference conformance suite; a
  provider's test module subclasses it and supplies the `provider` fixture.
- `ogx_api.testing.vector_io.VectorIOConformance`: the vector-io conformance suite; a provider's
  test module subclasses it and supplies `make_provider` (a factory over the same storage).
- `ogx_model_server` (session fixture): a real OpenAI-compatible model server with a small model,
  from `ogx_api.testing.model_server`.
"""
