"""The sandbox iVvy in a process of its own, so its threads never share a benchmark's GIL."""

from __future__ import annotations

import argparse
import signal
import threading

from bridge.ivvy.sandbox import SandboxServer


def main() -> None:
    """Serve on 127.0.0.1:--port until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--connection",
        choices=["keep-alive", "close"],
        default="keep-alive",
        help="keep connections between calls (default), or close each after its answer",
    )
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with SandboxServer(
        port=args.port, quiet=True, keep_alive=args.connection == "keep-alive"
    ) as server:
        print(f"sandbox iVvy at {server.url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
