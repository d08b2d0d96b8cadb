"""A presence client on slixmpp, driven line by line like the `client`
example's --presence mode, with the same output: its own view of its
contacts, kept here from slixmpp's presence events (not from our crate).

usage: slixmpp_presence.py --jid JID --password P --host H --port N

Commands on stdin, one per line:
  subscribe JID | subscribed JID | unsubscribe JID | unsubscribed JID
  show online|chat|away|xa|dnd|offline [STATUS]
  quit
Prints, one line each, flushed:
  "online as FULLJID"                once bound (then the roster, then
                                     initial presence)
  "roster JID SUBSCRIPTION[ ask]"    for each roster item received
  "request JID TYPE"                 for each subscription stanza
  "presence JID AVAILABILITY"        when a contact's best availability
                                     changes (offline when none left)
  "failed: REASON"                   on failure (exit 1)
"""

import argparse
import asyncio
import ssl
import sys
import threading

import slixmpp

RANK = {"chat": 0, "online": 1, "away": 2, "xa": 3, "dnd": 4}


class PresenceClient(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        # Subscriptions are answered by commands, not automatically.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.resources = {}  # bare -> {resource: (priority, show)}
        self.shown = {}  # bare -> last printed availability
        self.failed = False
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("roster_update", self.roster_update)
        for kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            self.add_event_handler(
                "presence_" + kind, lambda p, k=kind: self.request(p, k)
            )
        # slixmpp names the event after <show/> when there is one.
        for show in ("available", "chat", "away", "xa", "dnd"):
            self.add_event_handler("presence_" + show, self.available)
        self.add_event_handler("presence_unavailable", self.unavailable)
        self.add_event_handler("failed_auth", lambda _: self.fail("failed: auth"))
        self.add_event_handler(
            "connection_failed", lambda e: self.fail(f"failed: connection {e}")
        )

    def fail(self, line):
        print(line, flush=True)
        self.failed = True
        self.disconnect()

    async def start(self, _):
        print(f"online as {self.boundjid.full}", flush=True)
        # The roster before initial presence (RFC 6121 §2.2).
        await self.get_roster()
        self.send_presence()

    def roster_update(self, iq):
        for jid, item in iq["roster"]["items"].items():
            sub = item["subscription"] or "none"
            ask = " ask" if item["ask"] == "subscribe" else ""
            print(f"roster {jid} {sub}{ask}", flush=True)

    def request(self, presence, kind):
        print(f"request {presence['from'].bare} {kind}", flush=True)

    def report(self, bare):
        res = self.resources.get(bare, {})
        if res:
            best = max(res.values(), key=lambda v: (v[0], -RANK[v[1]], v[2]))
            now = best[1]
        else:
            now = "offline"
        if self.shown.get(bare, "offline") != now:
            self.shown[bare] = now
            print(f"presence {bare} {now}", flush=True)

    def available(self, presence):
        bare = presence["from"].bare
        show = presence["show"] or "online"
        if show not in RANK:
            show = "online"
        seq = len(self.resources.get(bare, {})) + sum(
            len(v) for v in self.resources.values()
        )
        self.resources.setdefault(bare, {})[presence["from"].resource] = (
            int(presence["priority"] or 0),
            show,
            seq,
        )
        self.report(bare)

    def unavailable(self, presence):
        bare = presence["from"].bare
        res = self.resources.get(bare, {})
        if presence["from"].resource:
            res.pop(presence["from"].resource, None)
        else:
            res.clear()
        self.report(bare)

    def command(self, line):
        words = line.split()
        if not words:
            return
        verb, rest = words[0], words[1:]
        if verb == "quit":
            self.disconnect()
        elif verb in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            self.send_presence(pto=rest[0], ptype=verb)
        elif verb == "show":
            status = " ".join(rest[1:]) or None
            if rest[0] == "offline":
                self.send_presence(ptype="unavailable", pstatus=status)
            elif rest[0] == "online":
                self.send_presence(pstatus=status)
            else:
                self.send_presence(pshow=rest[0], pstatus=status)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    xmpp = PresenceClient(args)
    loop = asyncio.get_event_loop()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(xmpp.command, line)
        loop.call_soon_threadsafe(xmpp.command, "quit")

    threading.Thread(target=read_stdin, daemon=True).start()
    xmpp.connect(host=args.host, port=args.port)
    loop.run_until_complete(xmpp.disconnected)
    sys.exit(1 if xmpp.failed else 0)


if __name__ == "__main__":
    main()
