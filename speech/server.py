#!/usr/bin/env python3
"""Callbot's bundled speech engine: an OpenAI-compatible transcription endpoint on loopback.

POST /v1/audio/transcriptions (multipart: file, model, language, prompt, temperature,
response_format json|text|verbose_json), GET /health, GET /v1/models. Whisper runs through
faster-whisper (CTranslate2, int8 on CPU) with temperature 0 and a bounded output, so a hard
utterance costs one decoding pass, never the fallback loop. Requests are decoded one at a time.
"""
import argparse
import email.parser
import email.policy
import io
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import wave
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import faster_whisper.transcribe
from faster_whisper import WhisperModel

LOG = logging.getLogger("callbot-speech")
MAX_UPLOAD = 10 * 1024 * 1024


def read_audio(data: bytes) -> np.ndarray:
    """Mono float32 at 16 kHz from a WAV file (16-bit PCM at any rate), else through PyAV."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise wave.Error("not 16-bit")
            rate, channels = w.getframerate(), w.getnchannels()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    except (wave.Error, EOFError):
        from faster_whisper.audio import decode_audio
        return decode_audio(io.BytesIO(data), sampling_rate=16000)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != 16000 and len(samples) > 1:
        duration = len(samples) / rate
        target = np.arange(int(duration * 16000)) / 16000
        samples = np.interp(target, np.arange(len(samples)) / rate, samples).astype(np.float32)
    return samples


def multipart(content_type: str, body: bytes) -> dict:
    """Fields of a multipart/form-data body: name -> bytes."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("expected multipart/form-data")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_payload(decode=True) or b""
    return fields


def shorten_audio_context(seconds: float):
    """Whisper's encoder always sees 30 s of audio, padded with silence, which costs the same for a
    two-second utterance. Padding only to the utterance (at least `seconds`) cuts the encoder's
    time by half or more; on telephone prompts 10 s gave the same words as 30 s (punctuation and
    a few letters aside) while 5 s lost short words. 0 keeps the full window."""
    if seconds <= 0:
        return
    full = faster_whisper.transcribe.pad_or_trim
    floor = int(seconds * 100)  # feature frames are 10 ms

    def pad_to_utterance(array, length: int = 3000, *, axis: int = -1):
        frames = array.shape[axis]
        return full(array, min(length, max(floor, -(-(frames + 100) // 100) * 100)), axis=axis)

    faster_whisper.transcribe.pad_or_trim = pad_to_utterance


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class Engine:
    def __init__(self, model_dir: str, threads: int, beam: int, max_tokens: int):
        self.model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
        self.beam = beam
        self.max_tokens = max_tokens
        self.lock = threading.Lock()
        self.name = "whisper-base"

    def transcribe(self, audio: np.ndarray, language: str, prompt: str | None, wanted=lambda: True) -> dict | None:
        """The transcript, or None when the request is no longer `wanted` once its turn comes."""
        with self.lock:
            if not wanted():
                return None
            started = time.monotonic()
            segments, info = self.model.transcribe(
                audio, language=language or None, beam_size=self.beam, temperature=0.0,
                initial_prompt=prompt or None, condition_on_previous_text=False, without_timestamps=True,
                max_new_tokens=self.max_tokens, vad_filter=False)
            # A segment that repeats itself (a loop on one token) is a hallucination, not speech.
            segments = [s for s in segments if compression_ratio(s.text) <= 2.4]
            elapsed = time.monotonic() - started
        text = "".join(s.text for s in segments).strip()
        return {
            "text": text, "language": info.language, "duration": round(len(audio) / 16000, 3),
            "processing_seconds": round(elapsed, 3),
            "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text, "avg_logprob": s.avg_logprob,
                          "no_speech_prob": s.no_speech_prob} for i, s in enumerate(segments)],
        }


def client_gone(connection) -> bool:
    """Whether the client closed its connection: it no longer waits for the answer."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def handler_for(engine: Engine):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # requests are logged below, without content
            pass

        def reply(self, status: int, payload, content_type="application/json"):
            body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status: int, message: str):
            self.reply(status, {"error": {"message": message, "type": "invalid_request_error"}})

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, {"status": "ok", "model": engine.name})
            elif self.path == "/v1/models":
                self.reply(200, {"object": "list", "data": [{"id": engine.name, "object": "model"}]})
            else:
                self.error(404, "not found")

        def do_POST(self):
            if self.path != "/v1/audio/transcriptions":
                return self.error(404, "not found")
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_UPLOAD:
                return self.error(413 if length > MAX_UPLOAD else 400, "a multipart body up to 10 MB is required")
            body = self.rfile.read(length)
            try:
                fields = multipart(self.headers.get("Content-Type", ""), body)
                audio = read_audio(fields["file"])
            except KeyError:
                return self.error(400, "the 'file' field is missing")
            except Exception as error:  # malformed upload or audio
                return self.error(400, f"unreadable request or audio: {error}")
            field = lambda name: fields.get(name, b"").decode("utf-8", "replace").strip()
            # Utterances wait their turn; one whose client left meanwhile (a speculative request
            # dropped because the caller spoke on, a call that ended) is not decoded at all.
            result = engine.transcribe(audio, field("language") or "fr", field("prompt"),
                                       wanted=lambda: not client_gone(self.connection))
            if result is None:
                LOG.info("dropped %.2f s of audio: the client left before its turn", len(audio) / 16000)
                self.close_connection = True
                return
            LOG.info("transcribed %.2f s of audio in %.3f s", result["duration"], result["processing_seconds"])
            form = field("response_format") or "json"
            if form == "text":
                return self.reply(200, result["text"], "text/plain; charset=utf-8")
            if form == "verbose_json":
                return self.reply(200, result)
            return self.reply(200, {"text": result["text"]})

    return Handler


def exit_with_parent(parent: int):
    """Exits when the process that started the engine is gone (even killed without warning)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--audio-context", type=float, default=10,
                        help="seconds of audio the encoder sees at least (30 = Whisper's full window, 0 too)")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process is gone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s callbot-speech %(message)s", stream=sys.stderr)
    # Stop at once on SIGTERM/SIGINT. A parent may hand down a mask that blocks them (Swift's
    # Foundation.Process does): unblock first.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: os._exit(0))
    if args.exit_with_parent:
        threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    shorten_audio_context(args.audio_context if args.audio_context < 30 else 0)
    engine = Engine(args.model_dir, args.threads, args.beam, args.max_tokens)
    engine.transcribe(np.zeros(16000, dtype=np.float32), "fr", None)  # warm up: the first pass is slow
    server = ThreadingHTTPServer((args.host, args.port), handler_for(engine))
    LOG.info("ready on http://%s:%d", args.host, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
