"""The use cases: services that orchestrate the domain through the ports they are given."""
