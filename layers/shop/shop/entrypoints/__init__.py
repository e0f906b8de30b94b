"""What the Lambda handlers stand on: settings, composition at init, the HTTP boundary and routes."""
