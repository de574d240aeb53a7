"""The JSON HTTP API (Starlette, served by uvicorn on the server's loop)."""
