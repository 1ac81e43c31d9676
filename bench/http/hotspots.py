"""Where one page of the HTTP bench spends its time: SQL and Python, on the bench database.

    .venv/bin/python bench/http/hotspots.py leader            # a key of bench/http/run.py
    .venv/bin/python bench/http/hotspots.py queue --runs 20 --top 25

Requests the page through Django's test client as the bench persona (after a warm-up),
under the bench's production settings, and prints: the wall time per request, the time in
SQL, the slowest queries (with how often each shape ran), and the functions of the project
with the most cumulative time (cProfile). Run `bench/http/run.py` first: it seeds pl_bench.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", choices=[key for key, *_ in run.TARGETS if key != "static"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--db", default=run.DEFAULT_DB)
    args = parser.parse_args()

    os.environ.update(run.bench_env(args.db, run.DEFAULT_REDIS))
    run._django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from peerlearning.services import api_token_create

    _key, label, mode, target, persona, expect = next(t for t in run.TARGETS if t[0] == args.page)
    url = run._url(target)
    if url is None:
        raise SystemExit(f"{label}: no URL yet")
    user = run._persona(persona) if persona else None
    client = Client()
    if user is not None and mode != "api":
        client.force_login(user)
    token = api_token_create(user=user)[1] if mode == "api" else ""
    stamp = f"{time.time_ns() % 10**9:09d}"

    def call(n: int):
        accession = f"P{stamp}N{n}"
        if mode == "form":
            return client.post(url, run._form_fields(user, accession))
        if mode == "api":
            return client.post(
                url,
                run._api_body(user, accession),
                content_type="application/json",
                headers={"authorization": f"Token {token}"},
            )
        return client.get(url)

    with override_settings(ALLOWED_HOSTS=["testserver", "127.0.0.1"]):
        assert call(0).status_code == expect
        shapes: dict[str, list[float]] = defaultdict(list)
        walls, sql = [], 0.0
        profiler = cProfile.Profile()
        for n in range(1, args.runs + 1):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                profiler.enable()
                response = call(n)
                profiler.disable()
                walls.append(time.perf_counter() - began)
            assert response.status_code == expect, response.status_code
            for query in captured.captured_queries:
                seconds = float(query["time"])
                sql += seconds
                shape = re.sub(r"\b\d+\b|'[^']*'", "?", query["sql"])
                shapes[shape].append(seconds)
    walls.sort()
    print(
        f"{label} ({url}): median {1000 * walls[len(walls) // 2]:.1f} ms, best "
        f"{1000 * walls[0]:.1f} ms over {args.runs} runs (cProfile on: slower than served); "
        f"{len(captured.captured_queries)} queries, {1000 * sql / args.runs:.1f} ms in SQL "
        "per request"
    )
    print("\nSlowest query shapes (total ms per request, count per request):")
    ranked = sorted(shapes.items(), key=lambda item: -sum(item[1]))
    for shape, times in ranked[:8]:
        per_request = 1000 * sum(times) / args.runs
        print(f"  {per_request:7.1f} ms  ×{len(times) // args.runs:<3} {shape[:400]}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(re.escape(str(run.ROOT)) + r"/(?!\.venv)", args.top)
    print("\nProject functions by cumulative time (all runs):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-6000:])


if __name__ == "__main__":
    main()
