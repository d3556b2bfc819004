"""The HTTP API: FastAPI routers, content negotiation, problem+json, the request gate."""
