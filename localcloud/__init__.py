"""Runs a SAM application of Python functions on one machine, without Docker or an AWS account."""
