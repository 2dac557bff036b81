"""Write ONE record that aiokafka cannot read (run as a script: it needs aiokafka's pure-Python record builder).

    python unreadable_producer.py BOOTSTRAP TOPIC MODE KEY [CLAIMS]

MODE `header_name`: a header whose name is not UTF-8 (b"\\xff\\xfe"); `codec`: a batch whose attributes say snappy
(its records are not compressed; this process has no snappy codec either way); `crc`: a batch whose CRC does not
match its bytes; `offset_delta`: a readable record whose offset delta is CLAIMS (the broker keeps it: the record
comes back at its batch's offset plus CLAIMS). What anyone who can reach the broker can do with a plain producer
(session 11 review 1, F1). CLAIMS (mode `codec`): the batch's header says it holds that many records more (last
offset delta and record count; the broker assigns it that many offsets, session 11 review 2, R2-5). `gap`: a
readable one-record batch whose header's last offset delta is CLAIMS (its record count stays 1): the offsets after
its record up to CLAIMS are a gap no record holds. Prints the record's partition and (first) offset."""

from __future__ import annotations

import asyncio
import os
import struct
import sys

os.environ["AIOKAFKA_NO_EXTENSIONS"] = "1"  # before aiokafka is imported: the builder patched below is used

from aiokafka import AIOKafkaProducer
from aiokafka.record import default_records
from aiokafka.record.util import decode_varint, encode_varint

BASE = default_records.DefaultRecordBase


class _HeaderName(str):
    """A header name whose bytes are not UTF-8 (aiokafka encodes each name with `str.encode`)."""

    def encode(self, *args: object, **kwargs: object) -> bytes:
        return b"\xff\xfe"


def _patch_builder(mode: str, claims: int) -> None:
    original = default_records._DefaultRecordBatchBuilderPy.build

    def build(self):
        buf = original(self)
        if mode == "codec":
            attributes = struct.unpack_from(">h", buf, BASE.ATTRIBUTES_OFFSET)[0]
            struct.pack_into(">h", buf, BASE.ATTRIBUTES_OFFSET, (attributes & ~0x07) | 2)  # 2: snappy
            if claims:
                struct.pack_into(">i", buf, 23, claims)  # lastOffsetDelta
                struct.pack_into(">i", buf, 57, claims + 1)  # recordCount
            crc = default_records.calc_crc32c(bytes(buf[BASE.ATTRIBUTES_OFFSET :]))
        elif mode == "gap":
            struct.pack_into(">i", buf, 23, claims)  # lastOffsetDelta only: the one record is read as it is
            crc = default_records.calc_crc32c(bytes(buf[BASE.ATTRIBUTES_OFFSET :]))
        else:
            crc = default_records.calc_crc32c(bytes(buf[BASE.ATTRIBUTES_OFFSET :])) ^ 0x5A5A5A5A
        struct.pack_into(">I", buf, BASE.CRC_OFFSET, crc)
        return buf

    default_records._DefaultRecordBatchBuilderPy.build = build


def _patch_offset_delta(delta: int) -> None:
    original = default_records._DefaultRecordBatchBuilderPy.build

    def zigzag(value: int) -> bytes:
        out = bytearray()
        encode_varint(value, out.append)
        return bytes(out)

    def build(self):
        buf = original(self)
        length, start = decode_varint(buf, BASE.HEADER_STRUCT.size)
        body = bytes(buf[start : start + length])
        _, at = decode_varint(body, 1)  # after the attributes byte and the timestamp delta
        _, rest = decode_varint(body, at)
        body = body[:at] + zigzag(delta) + body[rest:]
        buf = bytearray(buf[: BASE.HEADER_STRUCT.size]) + zigzag(len(body)) + body
        struct.pack_into(">i", buf, 8, len(buf) - 12)  # the batch's length
        struct.pack_into(">I", buf, BASE.CRC_OFFSET, default_records.calc_crc32c(bytes(buf[BASE.ATTRIBUTES_OFFSET :])))
        return buf

    default_records._DefaultRecordBatchBuilderPy.build = build


async def main(bootstrap: str, topic: str, mode: str, key: str, claims: str = "0") -> None:
    if mode == "header_name":
        headers = [("ce_id", b"x"), (_HeaderName("bad"), b"v")]
    elif mode in ("codec", "crc", "gap"):
        _patch_builder(mode, int(claims))
        headers = [("ce_id", b"x")]
    elif mode == "offset_delta":
        _patch_offset_delta(int(claims))
        headers = [("ce_id", b"x")]
    else:
        raise SystemExit(f"unknown mode {mode}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, key=key.encode(), value=b"{}", headers=headers)
        print(sent.partition, sent.offset)
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
