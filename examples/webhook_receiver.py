"""Receive ANTQ notifications and verify each one: python webhook_receiver.py PORT whsec_…"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(sys.argv[2])  # the secret add-recipient returned (once)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        try:  # a signature of the secret over id.timestamp.body, and a timestamp within 5 minutes
            payload = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError:
            self.send_response(401)
            self.end_headers()
            return
        for event in payload if isinstance(payload, list) else [payload]:  # a digest is a list
            print(json.dumps({"webhook_id": self.headers["webhook-id"], "type": event["type"]}), flush=True)
        self.send_response(204)  # 2xx: delivered. webhook-id stays the same on retries: dedupe on it
        self.end_headers()


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
