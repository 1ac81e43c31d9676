import socket
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from submissions.feeds.hl7 import wire_text

START, END = b"\x0b", b"\x1c\x0d"


class Command(BaseCommand):
    help = "Send an HL7 v2 file to an MLLP listener (hl7_listen) and print the ACK: for trials."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.HL7_LISTEN_PORT)

    def handle(self, *args, file, host, port, **options):
        try:
            message = wire_text(file.read_bytes())
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            with socket.create_connection((host, port), timeout=30) as connection:
                connection.sendall(START + message.encode("utf-8") + END)
                answer = b""
                while not answer.endswith(END):
                    chunk = connection.recv(4096)
                    if not chunk:
                        raise CommandError("The listener closed the connection without an ACK.")
                    answer += chunk
        except OSError as error:
            raise CommandError(f"No MLLP listener at {host}:{port} ({error}).") from None
        self.stdout.write(answer.strip(START + END).decode("utf-8").replace("\r", "\n"))
