"""The `dot-setup` wizard: detect, choose, token, preview, apply, verify."""
