"""Runs one side of a SCRAM exchange with scramp, for interoperability tests.

Messages travel as one base64 line each over stdin/stdout. A line starting
with "ERROR " reports a failure on this side; "OK" reports success.

Usage:
  scramp_peer.py server MECH CB_NAME CB_HEX PASSWORD SALT_B64 ITERATIONS
  scramp_peer.py client MECH CB_NAME CB_HEX USER PASSWORD
  scramp_peer.py authinfo MECH PASSWORD SALT_B64 ITERATIONS

CB_NAME and CB_HEX are "-" for no channel binding.
"""

import base64
import sys

import scramp


def send(text):
    sys.stdout.write(base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n")
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("peer closed the pipe")
    return base64.b64decode(line.strip()).decode("utf-8")


def report(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def channel_binding(name, data_hex):
    if name == "-":
        return None
    return (name, bytes.fromhex(data_hex))


def run_server(mech, cb_name, cb_hex, password, salt_b64, iterations):
    mechanism = scramp.ScramMechanism(mech)
    auth_info = mechanism.make_auth_info(
        password, iteration_count=int(iterations), salt=base64.b64decode(salt_b64)
    )

    def auth_fn(username):
        return auth_info if username == "user" else None

    server = mechanism.make_server(
        auth_fn, channel_binding=channel_binding(cb_name, cb_hex)
    )
    try:
        server.set_client_first(receive())
        send(server.get_server_first())
        try:
            server.set_client_final(receive())
        except scramp.ScramException:
            # scramp then answers with a server-final-message carrying e=.
            if server.error is not None:
                send(server.get_server_final())
            raise
        send(server.get_server_final())
        report("OK")
    except scramp.ScramException as e:
        report("ERROR " + str(e).replace("\n", " "))


def run_client(mech, cb_name, cb_hex, user, password):
    client = scramp.ScramClient(
        [mech], user, password, channel_binding=channel_binding(cb_name, cb_hex)
    )
    try:
        send(client.get_client_first())
        client.set_server_first(receive())
        send(client.get_client_final())
        client.set_server_final(receive())
        report("OK")
    except scramp.ScramException as e:
        report("ERROR " + str(e).replace("\n", " "))


def run_authinfo(mech, password, salt_b64, iterations):
    salt, stored_key, server_key, i = scramp.ScramMechanism(mech).make_auth_info(
        password, iteration_count=int(iterations), salt=base64.b64decode(salt_b64)
    )
    report(
        " ".join(
            [
                base64.b64encode(salt).decode("ascii"),
                base64.b64encode(stored_key).decode("ascii"),
                base64.b64encode(server_key).decode("ascii"),
                str(i),
            ]
        )
    )


def main(argv):
    mode, args = argv[1], argv[2:]
    {"server": run_server, "client": run_client, "authinfo": run_authinfo}[mode](
        *args
    )


if __name__ == "__main__":
    main(sys.argv)
