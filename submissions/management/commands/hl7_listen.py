import asyncio
import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand

from submissions.feeds.mllp import serve


class Command(BaseCommand):
    help = "Listen for HL7 v2 ORU^R01 results over MLLP; each is stored, then acknowledged."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HL7_LISTEN_HOST)
        parser.add_argument("--port", type=int, default=settings.HL7_LISTEN_PORT)

    def handle(self, *args, host, port, **options):
        self.stdout.write(f"HL7 MLLP listener on {host}:{port} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(host, port))
