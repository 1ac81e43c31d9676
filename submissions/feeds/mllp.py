"""The MLLP listener: python-hl7's framing over asyncio, each message handled in a thread."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from hl7.mllp import InvalidBlockError, start_hl7_server

from submissions.feeds.receive import hl7_receive

logger = logging.getLogger(__name__)

# Reports with embedded images are not expected here; anything larger is refused.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
IDLE_SECONDS = 300


def _handle(block: bytes) -> bytes:
    close_old_connections()
    try:
        return hl7_receive(block).encode("utf-8")
    finally:
        close_old_connections()


async def _connection(reader, writer) -> None:
    peer = writer.get_extra_info("peername")
    handle = sync_to_async(_handle, thread_sensitive=False)
    try:
        while True:
            try:
                block = await asyncio.wait_for(reader.readblock(), IDLE_SECONDS)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                break
            except (InvalidBlockError, ValueError) as error:
                logger.warning("MLLP: bad frame from %s (%s); closing", peer, error)
                break
            writer.writeblock(await handle(block))
            await writer.drain()
    finally:
        writer.close()


async def serve(host: str, port: int, *, ready=None) -> None:
    server = await start_hl7_server(_connection, host, port, limit=MAX_MESSAGE_BYTES)
    logger.info("HL7 MLLP listener on %s:%s", host, port)
    if ready is not None:
        ready(server)
    async with server:
        await server.serve_forever()
