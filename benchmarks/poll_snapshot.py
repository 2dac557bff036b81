# ruff: noqa: E501, B023  (a measuring script: statements kept on one line as sent; the closure runs in its loop turn)
"""Session 13 (s13-poll-calls): can a poll's round trips be merged without reading under a stale snapshot?

Plain asyncpg against a scratch database (tables shaped like the consumer's and reporting's), three parts:

1. `documents`: a read model's documents read in the same statement as the read models' rows lock (a CTE after
   the lock, as a riding document read would be) while another transaction holds the rows lock, writes a
   document and commits: does the read see that document? Against the lock and the read as two statements.
2. `offsets`: the offsets' lock and the streams' lock in one statement (a5d06b7's merge, reverted) with a check:
   the offset rows' xmin as the statement's snapshot sees them against the xmin of the versions it locked. Does
   the check flag the poll that waited for another poll's commit (and pass the one that did not)?
3. `latency`: a one-record poll's first statements, each variant alternated, one poll every `--gap-ms`:
   A today (BEGIN; offsets lock; streams + rows lock; COMMIT) - B BEGIN sent with the offsets' lock in one
   simple-protocol message (literals), then streams + rows + a plain re-read of the locked offsets; COMMIT -
   C BEGIN; offsets + streams + rows in one statement with the xmin check; COMMIT. Wall per poll and calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg

ADMIN = os.environ.get("PMO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

SCHEMA = """
CREATE TABLE offs (consumer text, topic text, partition int, next_offset bigint, PRIMARY KEY (consumer, topic, partition));
CREATE TABLE streams (consumer text, source text, stream_id text, last_sequence int, PRIMARY KEY (consumer, source, stream_id));
CREATE TABLE proj (name text PRIMARY KEY, generation int);
CREATE TABLE docs (projection text, generation int, kind text, key text, body text, PRIMARY KEY (projection, generation, kind, key));
INSERT INTO offs VALUES ('c', 't', 0, 10), ('c', 't', 1, 10);
INSERT INTO streams VALUES ('c', 's', 'a', 1);
INSERT INTO proj SELECT 'p' || i, 1 FROM generate_series(1, 8) i;
INSERT INTO docs VALUES ('p1', 1, 'k', 'x', 'old');
"""

RIDING_DOCS = """
WITH r AS MATERIALIZED (SELECT name, generation FROM proj ORDER BY name FOR UPDATE)
SELECT d.body FROM r JOIN docs d ON d.projection = r.name AND d.generation = r.generation WHERE d.kind = 'k' AND d.key = 'x'
"""

MERGED = """
WITH o AS MATERIALIZED (
    SELECT topic, partition, next_offset, xmin::text AS locked FROM offs
    WHERE consumer = $1 AND topic = ANY($2::text[]) AND partition = ANY($3::int[]) ORDER BY topic, partition FOR UPDATE
), seen AS MATERIALIZED (
    SELECT topic, partition, xmin::text AS seen FROM offs
    WHERE consumer = $1 AND topic = ANY($2::text[]) AND partition = ANY($3::int[])
), s AS MATERIALIZED (
    SELECT stream_id, last_sequence FROM streams WHERE consumer = $1 AND source = $4 AND stream_id = ANY($5::text[]) FOR UPDATE
), r AS MATERIALIZED (
    SELECT name, generation FROM proj WHERE name = ANY($6::text[]) ORDER BY name FOR UPDATE
)
SELECT 0 AS part, o.topic AS key, o.partition AS n, o.next_offset AS value,
       (seen.seen IS NOT DISTINCT FROM o.locked) AS fresh FROM o LEFT JOIN seen USING (topic, partition)
UNION ALL SELECT 1, stream_id, 0, last_sequence, true FROM s
UNION ALL SELECT 2, name, 0, generation, true FROM r
"""


async def scratch() -> tuple[str, str]:
    name = f"s13pc_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    con = await asyncpg.connect(url)
    await con.execute(SCHEMA)
    await con.close()
    return name, url


async def drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


async def documents(url: str) -> None:
    for riding in (True, False):
        other, ours = await asyncpg.connect(url), await asyncpg.connect(url)
        await other.execute("UPDATE docs SET body = 'old'")
        await other.execute("BEGIN")
        await other.fetch("SELECT name FROM proj ORDER BY name FOR UPDATE")
        await other.execute("UPDATE docs SET body = 'written by the other poll'")
        await ours.execute("BEGIN")

        async def read() -> str:
            if riding:
                return (await ours.fetchrow(RIDING_DOCS))["body"]
            await ours.fetch("SELECT name, generation FROM proj ORDER BY name FOR UPDATE")
            return await ours.fetchval("SELECT body FROM docs WHERE kind = 'k' AND key = 'x'")

        task = asyncio.create_task(read())
        await asyncio.sleep(0.2)
        await other.execute("COMMIT")
        body = await task
        await ours.execute("ROLLBACK")
        label = "lock + documents in one statement" if riding else "lock, then documents (two statements)"
        print(
            f"documents: {label}: the waiting poll read {body!r}"
            f" -> {'LOST UPDATE (stale snapshot)' if body == 'old' else 'sees the commit it waited for'}"
        )
        await other.close()
        await ours.close()


async def offsets(url: str) -> None:
    args = ("c", ["t"], [0], "s", ["a", "b"], [f"p{i}" for i in range(1, 9)])
    for waited in (True, False):
        other, ours = await asyncpg.connect(url), await asyncpg.connect(url)
        if waited:
            await other.execute("BEGIN")
            await other.fetch("SELECT 1 FROM offs WHERE consumer = 'c' AND topic = 't' AND partition = 0 FOR UPDATE")
            await other.execute("UPDATE offs SET next_offset = next_offset + 1 WHERE consumer = 'c' AND partition = 0")
            await other.execute("INSERT INTO streams VALUES ('c', 's', 'b', 1)")
        await ours.execute("BEGIN")
        task = asyncio.create_task(ours.fetch(MERGED, *args))
        await asyncio.sleep(0.2)
        if waited:
            await other.execute("COMMIT")
        rows = await task
        fresh = all(r["fresh"] for r in rows if r["part"] == 0)
        streams = {r["key"]: r["value"] for r in rows if r["part"] == 1}
        again = {
            r["stream_id"]: r["last_sequence"]
            for r in await ours.fetch(
                "SELECT stream_id, last_sequence FROM streams WHERE consumer = 'c' AND source = 's' AND stream_id = ANY($1::text[])",
                ["a", "b"],
            )
        }
        await ours.execute("ROLLBACK")
        print(
            f"offsets: {'waited for another poll' if waited else 'no other poll'}: merged statement read streams"
            f" {streams}, check says fresh={fresh}; a statement after it reads {again}"
        )
        if waited:
            await other.execute("DELETE FROM streams WHERE stream_id = 'b'")
        await other.close()
        await ours.close()


ROWS = [f"p{i}" for i in range(1, 9)]


async def poll_a(con: asyncpg.Connection) -> int:
    await con.execute("BEGIN")
    await con.fetch(
        "SELECT topic, partition, next_offset FROM offs WHERE consumer = $1 AND topic = ANY($2::text[]) AND partition = ANY($3::int[]) FOR UPDATE",
        "c",
        ["t"],
        [0],
    )
    await con.fetch(
        "WITH s AS MATERIALIZED (SELECT stream_id, last_sequence FROM streams WHERE consumer = $1 AND source = $2 AND stream_id = ANY($3::text[]) FOR UPDATE), r AS MATERIALIZED (SELECT name, generation FROM proj WHERE name = ANY($4::text[]) ORDER BY name FOR UPDATE) SELECT stream_id, last_sequence FROM s UNION ALL SELECT name, generation FROM r",
        "c",
        "s",
        ["a"],
        ROWS,
    )
    await con.execute("COMMIT")
    return 4


async def poll_b(con: asyncpg.Connection) -> int:
    # literals: the consumer and topic names quoted as SQL strings (standard_conforming_strings on)
    await con.execute(
        "BEGIN; SELECT 1 FROM offs WHERE consumer = 'c' AND (topic, partition) IN (('t', 0)) ORDER BY topic, partition FOR UPDATE"
    )
    await con.fetch(
        "WITH o AS (SELECT topic, partition, next_offset FROM offs WHERE consumer = $1 AND topic = ANY($5::text[]) AND partition = ANY($6::int[])), s AS MATERIALIZED (SELECT stream_id, last_sequence FROM streams WHERE consumer = $1 AND source = $2 AND stream_id = ANY($3::text[]) FOR UPDATE), r AS MATERIALIZED (SELECT name, generation FROM proj WHERE name = ANY($4::text[]) ORDER BY name FOR UPDATE) SELECT topic AS k, next_offset AS v FROM o UNION ALL SELECT stream_id, last_sequence FROM s UNION ALL SELECT name, generation FROM r",
        "c",
        "s",
        ["a"],
        ROWS,
        ["t"],
        [0],
    )
    await con.execute("COMMIT")
    return 3


async def poll_c(con: asyncpg.Connection) -> int:
    await con.execute("BEGIN")
    await con.fetch(MERGED, "c", ["t"], [0], "s", ["a"], ROWS)
    await con.execute("COMMIT")
    return 3


async def latency(url: str, polls: int, gap_ms: float, rounds: int) -> None:
    con = await asyncpg.connect(url)
    variants = {"A today (4 calls)": poll_a, "B BEGIN+offsets simple (3)": poll_b, "C merged+xmin check (3)": poll_c}
    for fn in variants.values():  # warm: statements prepared
        for _ in range(20):
            await fn(con)
    results: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(rounds):
        for name, fn in variants.items():
            walls = []
            for _ in range(polls):
                await asyncio.sleep(gap_ms / 1000)
                t = time.perf_counter()
                await fn(con)
                walls.append((time.perf_counter() - t) * 1000)
            results[name].append(statistics.median(walls))
            print(
                f"latency round {r}: {name}: p50 {statistics.median(walls):.3f} ms,"
                f" p90 {statistics.quantiles(walls, n=10)[-1]:.3f} ms over {polls} polls, load {os.getloadavg()[0]:.1f}"
            )
    for name, medians in results.items():
        print(f"latency: {name}: p50 per round {', '.join(f'{m:.3f}' for m in medians)} ms")
    await con.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--gap-ms", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default="documents,offsets,latency")
    a = parser.parse_args()
    name, url = await scratch()
    try:
        print(f"server {ADMIN.rsplit('@', 1)[-1]}, load {os.getloadavg()}")
        if "documents" in a.parts:
            await documents(url)
        if "offsets" in a.parts:
            await offsets(url)
        if "latency" in a.parts:
            await latency(url, a.polls, a.gap_ms, a.rounds)
    finally:
        await drop(name)


if __name__ == "__main__":
    asyncio.run(main())
