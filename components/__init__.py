"""The platform's ComponentResources, one concept per module."""
