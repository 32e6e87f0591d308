#!/usr/bin/env python3
# A test HTTP receiver: answers 200 to everything, appends each request as one
# JSON line {"method", "path", "body"} to the file given, and writes the port
# it listens on to PORTFILE once ready.  usage: webhook_receiver.py OUT PORTFILE
import http.server
import json
import sys

out, portfile = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def _record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(out, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "body": body}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = _record

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
