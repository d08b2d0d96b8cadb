"""A real client for federation tests: slixmpp logs in (STARTTLS if the
server offers it, an unverified self-signed certificate accepted, SASL
without TLS allowed), sends available presence, optionally sends chat
messages and counts the chat messages it receives.

usage: slixmpp_chat.py --jid JID --password P --host H --port N
                       [--to JID --message TEXT [--message TEXT ...]]
                       [--expect N] [--echo] [--timeout S]

Prints, one line each, flushed:
  "online as FULLJID"              after binding and sending presence
  "sent to JID: TEXT"              for each --message sent
  "received from JID: BODY"        for each chat (or normal) message with a
                                   body, offline-stored ones included
  "echo to JID: echo: BODY"        with --echo, for each reply sent
  "error from JID: CONDITION TEXT" for a message of type error (then exit 1)
  "failed: REASON"                 for anything else that went wrong

Exits 0 once N (--expect) messages have been received, after a clean
disconnect. With --expect 0 (the default) it exits 0 right after sending,
or, with --echo, when the timeout ends (it serves until then). Exits 1 on
a timeout with fewer than N messages received, on an error reply, on
failed authentication or on a failed connection.

--echo replies to every received message with "echo: BODY" (type chat,
to the full JID it came from), except to bodies that already start with
"echo: ", so two echoing clients do not loop.
"""

import argparse
import asyncio
import ssl
import sys

import slixmpp


class Chat(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.received = 0
        self.ok = False
        self.failed = False
        self.enable_direct_tls = False
        self.enable_starttls = True
        # Self-signed test certificate.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)
        # slixmpp reports type='error' messages here, not as "message".
        self.add_event_handler("message_error", self.message_error)
        self.add_event_handler("failed_auth", self.failed_auth)
        self.add_event_handler("connection_failed", self.connection_failed)
        self.add_event_handler("stream_error", self.stream_error)

    def fail(self, line):
        print(line, flush=True)
        self.failed = True
        self.disconnect()

    def succeed(self):
        self.ok = True
        self.disconnect()

    async def start(self, _event):
        self.send_presence()
        print("online as", self.boundjid.full, flush=True)
        if self.args.to:
            for text in self.args.message or []:
                self.send_message(mto=self.args.to, mbody=text, mtype="chat")
                print(f"sent to {self.args.to}: {text}", flush=True)
        if self.args.expect == 0 and not self.args.echo:
            self.succeed()

    def message_error(self, msg):
        err = msg["error"]
        text = (err["condition"] + " " + (err["text"] or "")).strip()
        self.fail(f"error from {msg['from']}: {text}")

    def message(self, msg):
        if msg["type"] == "error":
            return
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        body = msg["body"]
        print(f"received from {msg['from']}: {body}", flush=True)
        self.received += 1
        if self.args.echo and not body.startswith("echo: "):
            reply = "echo: " + body
            self.send_message(mto=msg["from"], mbody=reply, mtype="chat")
            print(f"echo to {msg['from']}: {reply}", flush=True)
        if 0 < self.args.expect <= self.received and not self.ok:
            self.succeed()

    def failed_auth(self, _event):
        self.fail("failed: authentication")

    def connection_failed(self, error):
        # slixmpp would retry: stop that, this is a test.
        self.cancel_connection_attempt()
        self.fail(f"failed: connection: {error}")

    def stream_error(self, error):
        self.fail(f"failed: stream error: {error['condition']} {error['text']}".strip())


async def run(xmpp, args):
    done = xmpp.disconnected
    try:
        await asyncio.wait_for(asyncio.shield(done), args.timeout)
        return
    except asyncio.TimeoutError:
        pass
    if args.echo and args.expect == 0 and not xmpp.failed:
        xmpp.ok = True
    else:
        print(f"failed: timed out after {args.timeout:g} s with "
              f"{xmpp.received} of {args.expect} messages", flush=True)
    xmpp.disconnect()
    try:
        await asyncio.wait_for(asyncio.shield(done), 3)
    except asyncio.TimeoutError:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--to")
    p.add_argument("--message", action="append")
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    xmpp = Chat(args)
    xmpp.register_plugin("feature_mechanisms")
    mechanisms = xmpp.plugin["feature_mechanisms"]
    # A plaintext test listener: allow SASL without TLS.
    mechanisms.unencrypted_plain = True
    mechanisms.unencrypted_scram = True
    xmpp.connect(args.host, args.port)
    xmpp.loop.run_until_complete(run(xmpp, args))
    # Let slixmpp's own tasks end quietly.
    pending = [t for t in asyncio.all_tasks(xmpp.loop) if not t.done()]
    for t in pending:
        t.cancel()
    xmpp.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    sys.exit(0 if xmpp.ok and not xmpp.failed else 1)


if __name__ == "__main__":
    main()
