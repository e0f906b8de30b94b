"""The shop's entities, value objects and rules: no I/O, no AWS, no framework."""
