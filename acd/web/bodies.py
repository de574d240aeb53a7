"""Request bodies of the JSON API: one JSON object, bounded in size."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY = 8192


async def json_body(request: Request, limit: int = MAX_BODY) -> dict[str, Any] | Response:
    """The request's JSON object, or the 4xx response that says why not."""
    body = await request.body()
    if len(body) > limit:
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        data = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "body must be JSON"}, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
    return data
