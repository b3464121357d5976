"""Local fake OpenAI and Gemini servers speaking the providers' HTTP protocols on 127.0.0.1.

The real SDKs are pointed at them (`base_url`). Each request takes the next behaviour from
`server.script` (or `server.default`): "ok", "429", "500", "timeout", "malformed", "empty",
"garbage" (a 200 whose body is not JSON). The answer text comes from `server.answer(kind, body)`
where kind is "categorize" or "reply". Every request body is kept in `server.requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def triage_answer(category="network", priority="high", confidence=0.82, summary="Office Wi-Fi is down"):
    return json.dumps({"category_slug": category, "priority": priority, "confidence": confidence, "summary": summary})


class FakeAIServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients at once (benchmarks): no refused connections
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: deque[str] = deque()
        self.default = "ok"
        self.timeout_sleep = 3.0
        self.requests: list[dict] = []
        self.reply_text = "Hello,\n\n1. Restart the router.\n2. Reconnect to the Wi-Fi.\n\nDid that help?"
        self.triage = triage_answer()
        self.delay = 0.0  # seconds before answering (a slow provider)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def next_behaviour(self) -> str:
        return self.script.popleft() if self.script else self.default

    def answer(self, kind: str, body: dict) -> str:
        return self.triage if kind == "categorize" else self.reply_text


class _Handler(BaseHTTPRequestHandler):
    server: FakeAIServer

    def log_message(self, *args):  # keep test output clean
        pass

    def _json(self, status: int, payload, *, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            line = event if isinstance(event, str) else json.dumps(event)
            self.wfile.write(f"data: {line}\n\n".encode())
            self.wfile.flush()

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        behaviour = self.server.next_behaviour()
        if self.server.delay:
            time.sleep(self.server.delay)
        gemini = "/models/" in self.path
        if behaviour == "timeout":
            time.sleep(self.server.timeout_sleep)
            behaviour = "500"
        if behaviour in ("429", "500"):
            status = int(behaviour)
            message = "Rate limit reached" if status == 429 else "The server had an error"
            if gemini:
                payload = {"error": {"code": status, "message": message, "status": "RESOURCE_EXHAUSTED"
                                     if status == 429 else "INTERNAL"}}  # fmt: skip
            else:
                payload = {"error": {"message": message, "type": "server_error", "code": None}}
            return self._json(status, payload)
        if behaviour == "garbage":
            return self._json(200, None, raw=b"<html>Bad gateway</html>")
        if gemini:
            return self._gemini(body, behaviour)
        return self._openai(body, behaviour)

    def _text(self, kind: str, body: dict, behaviour: str) -> str:
        if behaviour == "malformed":
            return '{"category_slug": "network", "priority": '
        if behaviour == "empty":
            return ""
        return self.server.answer(kind, body)

    def _openai(self, body: dict, behaviour: str):
        kind = "categorize" if body.get("response_format") else "reply"
        text = self._text(kind, body, behaviour)
        model = body.get("model", "fake")
        usage = {"prompt_tokens": 120, "completion_tokens": max(1, len(text.split())), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            events = []
            for piece in re.findall(r"\S+\s*|\s+", text):
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                events.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                               "choices": [delta]})  # fmt: skip
            events.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})  # fmt: skip
            events.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                           "choices": [], "usage": usage})  # fmt: skip
            events.append("[DONE]")
            return self._sse(events)
        return self._json(200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage,
        })  # fmt: skip

    def _gemini(self, body: dict, behaviour: str):
        config = body.get("generationConfig") or {}
        kind = "categorize" if config.get("responseMimeType") == "application/json" else "reply"
        text = self._text(kind, body, behaviour)
        usage = {"promptTokenCount": 110, "candidatesTokenCount": max(1, len(text.split())), "totalTokenCount": 0}

        def chunk(piece: str) -> dict:
            return {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                    "usageMetadata": usage, "modelVersion": "fake-gemini"}  # fmt: skip

        if "streamGenerateContent" in self.path:
            pieces = re.findall(r"\S+\s*|\s+", text) or [""]
            return self._sse([chunk(piece) for piece in pieces])
        if behaviour == "empty":
            return self._json(200, {"candidates": [], "usageMetadata": usage})
        return self._json(200, chunk(text))
