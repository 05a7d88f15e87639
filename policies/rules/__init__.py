"""The pack's policies, one module per concern; each policy's docstring names the incident it prevents."""
