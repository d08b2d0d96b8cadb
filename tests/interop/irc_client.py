"""A tiny IRC client for gateway tests: plain Python, sockets only.

usage: irc_client.py --host H --port N --nick NICK
                     [--say TARGET TEXT [--say TARGET TEXT ...]]
                     [--expect N] [--echo] [--timeout S]

Registers (NICK, USER), answers the server's PINGs, and:
  - sends "PRIVMSG TARGET :TEXT" for each --say once registered;
  - counts the PRIVMSGs sent to its nick (channel messages are ignored);
  - with --echo, answers each with "echo: TEXT" to the sender, except
    texts that already start with "echo: ", so two echoing clients do not
    loop.

Prints, one line each, flushed:
  "registered"                   when the server sent 001 (RPL_WELCOME)
  "sent to TARGET: TEXT"         for each --say
  "privmsg from NICK: TEXT"      for each PRIVMSG to its nick
  "echo to NICK: echo: TEXT"     with --echo, for each reply sent
  "no such nick: NICK"           when a reply could not be delivered
  "failed: REASON"               for anything that went wrong (a refused
                                 nick, a --say target that is not there,
                                 an ERROR from the server, a closed
                                 connection, a timeout)

Exits 0 once N (--expect) PRIVMSGs have been received, after a QUIT. With
--expect 0 (the default) it exits 0 once the server has taken what it sent
(a PING after the PRIVMSGs is answered, so a 401 for one of them counts
as a failure), or, with --echo,
when the timeout ends (it serves until then). Exits 1 on a timeout with
fewer than N received and on every failure above.
"""

import argparse
import socket
import sys
import time


SENT_TOKEN = "irc-client-sent"


class Failed(Exception):
    pass


def parse(line):
    """Splits an IRC line into (prefix nick or None, command, params)."""
    prefix = None
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    trailing = None
    if " :" in line:
        line, trailing = line.split(" :", 1)
    elif line.startswith(":"):
        line, trailing = "", line[1:]
    params = line.split()
    command = params.pop(0).upper() if params else ""
    if trailing is not None:
        params.append(trailing)
    nick = prefix.split("!", 1)[0] if prefix else None
    return nick, command, params


class Client:
    def __init__(self, args):
        self.args = args
        self.sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.buf = b""
        self.received = 0
        self.registered = False
        self.nick = args.nick

    def send(self, line):
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def lines(self, deadline):
        while True:
            while b"\n" in self.buf:
                raw, self.buf = self.buf.split(b"\n", 1)
                yield raw.rstrip(b"\r").decode("utf-8", "replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                raise TimeoutError from None
            if not data:
                raise Failed("connection closed by the server")
            self.buf += data

    def done(self):
        return 0 < self.args.expect <= self.received

    def run(self, deadline):
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :{self.nick}")
        for line in self.lines(deadline):
            nick, command, params = parse(line)
            if command == "PING":
                self.send("PONG :" + (params[-1] if params else ""))
            elif command == "001":
                self.registered = True
                print("registered", flush=True)
                for target, text in self.args.say or []:
                    self.send(f"PRIVMSG {target} :{text}")
                    print(f"sent to {target}: {text}", flush=True)
                if self.args.expect == 0 and not self.args.echo:
                    # The server answers in order: once this PING is
                    # answered, any 401 for the messages above has come.
                    self.send("PING :" + SENT_TOKEN)
            elif command == "PONG" and params and params[-1] == SENT_TOKEN:
                return
            elif command in ("432", "433", "436", "437") and not self.registered:
                # Erroneous nickname, nickname in use, collision, unavailable.
                raise Failed(f"nick {self.nick} refused: {command} {params[-1] if params else ''}")
            elif command == "401" and len(params) >= 2:
                # ERR_NOSUCHNICK: a message of ours was lost.
                target = params[1]
                said = [t.lower() for t, _ in self.args.say or []]
                if target.lower() in said:
                    raise Failed(f"no such nick: {target}")
                print(f"no such nick: {target}", flush=True)
            elif command == "ERROR":
                raise Failed("server error: " + (params[-1] if params else ""))
            elif command == "PRIVMSG" and len(params) >= 2:
                target, text = params[0], params[1]
                if target.lower() != self.nick.lower():
                    continue
                print(f"privmsg from {nick}: {text}", flush=True)
                self.received += 1
                if self.args.echo and not text.startswith("echo: ") and nick:
                    reply = "echo: " + text
                    self.send(f"PRIVMSG {nick} :{reply}")
                    print(f"echo to {nick}: {reply}", flush=True)
                if self.done():
                    return

    def quit(self):
        try:
            self.send("QUIT :bye")
            # Let the server see the QUIT before the connection closes.
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(2)
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--nick", required=True)
    p.add_argument("--say", nargs=2, action="append", metavar=("TARGET", "TEXT"))
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    deadline = time.monotonic() + args.timeout
    try:
        client = Client(args)
    except OSError as e:
        print(f"failed: connection: {e}", flush=True)
        sys.exit(1)
    ok = False
    try:
        client.run(deadline)
        ok = True
    except TimeoutError:
        if args.echo and args.expect == 0 and client.registered:
            ok = True
        elif not client.registered:
            print(f"failed: not registered after {args.timeout:g} s", flush=True)
        else:
            print(f"failed: timed out after {args.timeout:g} s with "
                  f"{client.received} of {args.expect} messages", flush=True)
    except Failed as e:
        print(f"failed: {e}", flush=True)
    except OSError as e:
        print(f"failed: connection: {e}", flush=True)
    client.quit()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
