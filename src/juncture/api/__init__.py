"""The HTTP API: thin transport over the runtime and the store."""
