#!/usr/bin/env python3
"""A local OTLP/HTTP sink for the telemetry benchmark: accepts POST /v1/traces, /v1/metrics and /v1/logs (protobuf),
answers 200 with an empty export response, and counts requests and bytes per signal. Prints the counts as JSON on
SIGTERM. Usage: otlp-sink.py PORT"""
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            c = counts.setdefault(self.path, {"requests": 0, "bytes": 0})
            c["requests"] += 1
            c["bytes"] += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)


def stop(*_):
    print(json.dumps(counts), flush=True)
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
