"""The HTTP server: the app factory, error envelopes, SSE and one route module per API family."""
