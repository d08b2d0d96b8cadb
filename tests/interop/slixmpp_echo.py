"""A real client for the server tests: slixmpp connects with STARTTLS,
authenticates with the given SASL mechanism, binds, sends a message to
itself and waits to get it back.

usage: slixmpp_echo.py JID PASSWORD HOST PORT MECHANISM
Prints "bound as FULLJID" and "echo: BODY"; exits 0 on success, 1 on
failure or after 20 seconds.
"""

import asyncio
import ssl
import sys

import slixmpp


class Echo(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mechanism):
        super().__init__(jid, password)
        self.ok = False
        self.body = "echo ☺ <&> " + jid
        self.enable_direct_tls = False
        self.enable_starttls = True
        # Self-signed test certificate.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.plugin["feature_mechanisms"].use_mech = mechanism
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)
        self.add_event_handler("failed_auth", self.failed)

    async def start(self, _event):
        print("bound as", self.boundjid.full, flush=True)
        self.send_presence()
        self.send_message(mto=self.boundjid.full, mbody=self.body, mtype="chat")

    def message(self, msg):
        print("echo:", msg["body"], flush=True)
        if msg["body"] == self.body and msg["from"] == self.boundjid.full:
            self.ok = True
        self.disconnect()

    def failed(self, _event):
        print("authentication failed", flush=True)
        self.disconnect()


def main():
    jid, password, host, port, mechanism = sys.argv[1:6]
    xmpp = Echo(jid, password, mechanism)
    xmpp.register_plugin("feature_mechanisms")
    xmpp.connect(host, int(port))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(xmpp.disconnected, 20))
    except asyncio.TimeoutError:
        print("timed out", flush=True)
    sys.exit(0 if xmpp.ok else 1)


if __name__ == "__main__":
    main()
