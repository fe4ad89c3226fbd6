"""Signing dot-setup itself in to the service: OAuth client, credential store, the service API."""
