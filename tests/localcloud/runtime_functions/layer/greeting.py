"""A module of the test layer."""

GREETING = "hello from the layer"
