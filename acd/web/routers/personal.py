"""A user's own voicemail and forwarding on the desktop (P4), and call
recordings for supervisors (O7).

GET    /api/desk/voicemail                 my messages, new first
GET    /api/desk/voicemail/{id}/audio      play one (Ogg/Opus); a new one becomes saved
DELETE /api/desk/voicemail/{id}            delete one (MWI follows)
PUT    /api/desk/voicemail/pin             {"pin"}: my own PIN for *97 (over the plan's)
GET    /api/desk/forwarding                where my calls go: always, busy, no_answer
PUT    /api/desk/forwarding                {"kind", "to"}: an extension, a number I may
                                           call, "voicemail", or null (off)
GET    /api/recordings?call_id=ID          a call's recordings (admin, the queue's supervisor)
GET    /api/recordings                     the newest 50 the caller may hear
GET    /api/recordings/{id}/audio          play one; each playback leaves an audit line
GET    /api/recordings/{id}/playbacks      who played it, when
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acd.calls.recording import StoredRecording
from acd.contact.personal import Personal, PersonalError, recording_view
from acd.web.auth import principal
from acd.web.auth.policy import Principal
from acd.web.bodies import json_body
from acd.web.services import WebServices


def may_hear(who: Principal, recording: StoredRecording) -> bool:
    """Admins hear every recording; a supervisor those of the queues they supervise."""
    if who.is_admin:
        return True
    return who.is_supervisor and recording.queue_id is not None and (
        recording.queue_id in who.supervises
    )


def routes(services: WebServices) -> list[Route]:
    def ops() -> Personal:
        if services.personal is None:
            raise PersonalError("not available", 503)
        return services.personal

    def refused(err: PersonalError) -> Response:
        return JSONResponse({"error": str(err)}, status_code=err.status)

    async def voicemail(request: Request) -> Response:
        who = principal(request)
        try:
            return JSONResponse({"messages": await ops().messages(who.user)})
        except PersonalError as err:
            return refused(err)

    async def voicemail_one(request: Request) -> Response:
        who = principal(request)
        message_id = str(request.path_params["message_id"])
        try:
            if request.method == "DELETE":
                await ops().delete_message(who.user, message_id)
                return JSONResponse({"deleted": message_id})
            content_type, audio = await ops().message_audio(who.user, message_id)
        except PersonalError as err:
            return refused(err)
        return Response(audio, media_type=content_type or "audio/ogg",
                        headers={"cache-control": "no-store"})

    async def pin(request: Request) -> Response:
        who = principal(request)
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        try:
            await ops().set_pin(who.user, str(body.get("pin", "")))
        except PersonalError as err:
            return refused(err)
        return JSONResponse({"pin": "set"})

    async def forwarding(request: Request) -> Response:
        who = principal(request)
        try:
            if request.method == "GET":
                return JSONResponse(ops().forwarding_view(who.user))
            body = await json_body(request)
            if isinstance(body, Response):
                return body
            kind, target = body.get("kind"), body.get("to")
            if not isinstance(kind, str) or not (target is None or isinstance(target, str)):
                return JSONResponse({"error": "kind: text; to: text or null"}, status_code=400)
            return JSONResponse(await ops().set_forwarding(who.user, kind, target))
        except PersonalError as err:
            return refused(err)

    async def recordings(request: Request) -> Response:
        who = principal(request)
        call_id = request.query_params.get("call_id", "")
        if not (who.is_admin or who.is_supervisor):
            return JSONResponse({"recordings": []})
        try:
            if call_id:
                found = await ops().recordings_of(call_id)
            else:
                found = await ops().recent_recordings(None if who.is_admin
                                                      else sorted(who.supervises))
        except PersonalError as err:
            return refused(err)
        return JSONResponse({"recordings": [recording_view(r) for r in found
                                            if may_hear(who, r)]})

    async def recording_one(request: Request) -> Response:
        who = principal(request)
        recording_id = int(request.path_params["recording_id"])
        try:
            found = await ops().recording(recording_id)
            if found is None or not may_hear(who, found):
                return JSONResponse({"error": "no such recording"}, status_code=404)
            if request.url.path.endswith("/playbacks"):
                return JSONResponse({"playbacks": await ops().playbacks(recording_id)})
            await ops().played(recording_id, who.user)  # the audit line first
        except PersonalError as err:
            return refused(err)
        return Response(found.audio, media_type=found.content_type or "audio/ogg",
                        headers={"cache-control": "no-store"})

    return [
        Route("/api/desk/voicemail", voicemail),
        Route("/api/desk/voicemail/pin", pin, methods=["PUT"]),
        Route("/api/desk/voicemail/{message_id}/audio", voicemail_one),
        Route("/api/desk/voicemail/{message_id}", voicemail_one, methods=["DELETE"]),
        Route("/api/desk/forwarding", forwarding, methods=["GET", "PUT"]),
        Route("/api/recordings", recordings),
        Route("/api/recordings/{recording_id:int}/audio", recording_one),
        Route("/api/recordings/{recording_id:int}/playbacks", recording_one),
    ]
