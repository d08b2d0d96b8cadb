"""A real external component (XEP-0114) for gateway tests: slixmpp's
ComponentXMPP attaches to a server's component port (plaintext,
jabber:component:accept, the handshake being hex SHA-1 of the stream id
and the secret), then counts the messages routed to it and, optionally,
echoes them.

usage: slixmpp_component.py --jid COMPONENT --secret S --host H --port N
                            [--echo] [--expect N] [--timeout S]

Prints, one line each, flushed:
  "online"                          once the server accepted the handshake
  "received from JID: BODY"         for each chat (or normal) message with
                                    a body, to any address of the component
  "echo to JID: echo: BODY"         with --echo, for each reply sent
  "error from JID: CONDITION TEXT"  for a message of type error (exit 1)
  "failed: REASON"                  for anything else that went wrong (a
                                    stream error such as not-authorized
                                    for a wrong secret or conflict for a
                                    name already attached, a failed
                                    connection, a timeout)

Exits 0 once N (--expect) messages have been received, after a clean
disconnect. With --expect 0 (the default) it exits 0 right after coming
online, or, with --echo, when the timeout ends (it serves until then).
Exits 1 on a timeout with fewer than N messages received and on every
failure above.

--echo replies to every received message with "echo: BODY", from the
address it was sent to (e.g. someone@gw.example.test) to the full JID it
came from, with the same type (and thread), except to bodies that already
start with "echo: ", so two echoing parties do not loop.
"""

import argparse
import asyncio
import sys

from slixmpp.componentxmpp import ComponentXMPP


class Component(ComponentXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.secret, args.host, args.port)
        self.args = args
        self.received = 0
        self.online = False
        self.ok = False
        self.failed = False
        # A plaintext component port: no TLS of any kind.
        self.enable_direct_tls = False
        self.enable_starttls = False
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)
        # slixmpp reports type='error' messages here, not as "message".
        self.add_event_handler("message_error", self.message_error)
        self.add_event_handler("connection_failed", self.connection_failed)
        self.add_event_handler("stream_error", self.stream_error)
        self.add_event_handler("disconnected", self.disconnected_event)

    def fail(self, line):
        if not self.failed:
            print(line, flush=True)
        self.failed = True
        self.disconnect()

    def succeed(self):
        self.ok = True
        self.disconnect()

    async def start(self, _event):
        self.online = True
        print("online", flush=True)
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
            # reply() swaps to and from and keeps the type and thread.
            msg.reply(reply).send()
            print(f"echo to {msg['from']}: {reply}", flush=True)
        if 0 < self.args.expect <= self.received and not self.ok:
            self.succeed()

    def connection_failed(self, error):
        # slixmpp would retry: stop that, this is a test.
        self.cancel_connection_attempt()
        self.fail(f"failed: connection: {error}")

    def stream_error(self, error):
        self.fail(f"failed: stream error: {error['condition']} {error['text']}".strip())

    def disconnected_event(self, _event):
        if not self.ok and not self.failed:
            reason = "connection closed" + ("" if self.online else " before the handshake was accepted")
            print(f"failed: {reason}", flush=True)
            self.failed = True


async def run(xmpp, args):
    done = xmpp.disconnected
    try:
        await asyncio.wait_for(asyncio.shield(done), args.timeout)
        return
    except asyncio.TimeoutError:
        pass
    if args.echo and args.expect == 0 and xmpp.online and not xmpp.failed:
        xmpp.ok = True
    elif not xmpp.online:
        xmpp.failed = True
        print(f"failed: not online after {args.timeout:g} s", flush=True)
    else:
        xmpp.failed = True
        print(f"failed: timed out after {args.timeout:g} s with "
              f"{xmpp.received} of {args.expect} messages", flush=True)
    xmpp.disconnect()
    try:
        await asyncio.wait_for(asyncio.shield(done), 3)
    except asyncio.TimeoutError:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True, help="the component's name, e.g. gw.example.test")
    p.add_argument("--secret", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    xmpp = Component(args)
    xmpp.connect()
    xmpp.loop.run_until_complete(run(xmpp, args))
    # Let slixmpp's own tasks end quietly.
    pending = [t for t in asyncio.all_tasks(xmpp.loop) if not t.done()]
    for t in pending:
        t.cancel()
    xmpp.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    sys.exit(0 if xmpp.ok and not xmpp.failed else 1)


if __name__ == "__main__":
    main()
