"""Client and service profiles: behaviour as data, validated by `schema`."""
