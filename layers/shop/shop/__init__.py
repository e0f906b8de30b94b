"""Shop API's domain layer: business rules, ports and the adapters that reach AWS."""
