"""Benchmark: our de-identification against dicognito and a plain pydicom read-and-write.

    python bench/anonymize/run.py [--files 2000] [--memory-images 3000]

Generates small synthetic CT files (64x64, planted identifiers, 20 images a case) in a
temporary directory, then times, over the same files:

* plain: pydicom read and write (the floor: no de-identification at all);
* ours: read, de-identify (PS3.15 Basic profile and our options), write (with the
  engine's ``deidentified_file_bytes``, the bytes ``save_as`` would write);
* ours + verify: ``anonymize_directory``, which also reads every header first to gather
  the case's identifiers and independently verifies every output before writing it;
* dicognito (if it is installed): read, anonymize, write.

Then runs ``anonymize_directory`` over one series of 3,000 images (and of a tenth of
that) in a fresh process each and reports the peak resident memory and the peak Python
heap (tracemalloc), to show that memory stays flat as the series grows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402

from anonymizer.engine.dicom import deidentified_file_bytes, deidentify_dataset  # noqa: E402
from anonymizer.engine.pipeline import anonymize_directory  # noqa: E402
from anonymizer.engine.profile import Options  # noqa: E402
from anonymizer.tests.factories import Identity, make_image, write  # noqa: E402

SECRET = "benchmark-secret"  # noqa: S105 - keys synthetic data only
IMAGES_PER_CASE = 20


def generate(directory: Path, count: int, *, per_case: int = IMAGES_PER_CASE) -> list[Path]:
    """``count`` files, ``per_case`` images per invented patient, in case folders."""
    files = []
    for n in range(count):
        case, instance = divmod(n, per_case)
        who = Identity(
            family=f"Quillfeather{case:04d}", patient_id=f"ZQ{case:07d}", accession=f"AC{case:08d}"
        )
        ds = make_image(who, study=case + 1, instance=instance + 1, rows=64, columns=64)
        files.append(write(ds, directory / f"case{case:04d}" / f"IMG{instance:05d}.dcm"))
    return files


def plain(files: list[Path], out: Path) -> None:
    for n, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds.save_as(out / f"{n}.dcm")


def ours(files: list[Path], out: Path) -> None:
    options = Options()
    for n, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds, _ = deidentify_dataset(ds, case_key=path.parent.name, secret=SECRET, options=options)
        # The engine's writer: pydicom's bytes, encoded without its per-element overhead.
        (out / f"{n}.dcm").write_bytes(deidentified_file_bytes(ds))


def ours_verified(files: list[Path], out: Path) -> None:
    for case in sorted({p.parent for p in files}):
        summary = anonymize_directory(case, out / case.name, case_key=case.name, secret=SECRET)
        assert summary.ok, summary


def dicognito_run(files: list[Path], out: Path) -> None:
    from dicognito.anonymizer import Anonymizer

    for n, path in enumerate(files):
        if n % IMAGES_PER_CASE == 0:
            # A fresh anonymizer per case, as ours is keyed per case.
            anonymizer = Anonymizer()
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        ds.save_as(out / f"{n}.dcm")


def timed(
    name: str,
    run: Callable[[list[Path], Path], None],
    files: list[Path],
    work: Path,
    repeats: int,
) -> dict:
    """Best wall-clock and CPU time of ``repeats`` runs over the same files."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        out = work / f"out-{name}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        wall, cpu = time.perf_counter(), time.process_time()
        run(files, out)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        shutil.rmtree(out, ignore_errors=True)
    result = {
        "files_per_s": len(files) / best_wall,
        "cpu_ms_per_file": 1000 * best_cpu / len(files),
    }
    print(
        f"  {name:<16} {result['files_per_s']:7.0f} files/s  "
        f"{result['cpu_ms_per_file']:5.2f} ms CPU/file  (best of {repeats})"
    )
    return result


MEMORY_CHILD = """
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from anonymizer.engine.pipeline import anonymize_directory
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
start = time.perf_counter()
summary = anonymize_directory(
    {src!r}, {dst!r}, case_key="memory", secret="s", report_path={report!r}
)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heap = tracemalloc.get_traced_memory()[1]
print(json.dumps({{"before_kib": before, "peak_kib": peak, "heap_peak_bytes": heap,
                  "written": summary.written, "seconds": elapsed}}))
"""


def memory(images: int, work: Path) -> dict:
    src = work / f"series-{images}"
    generate(src, images, per_case=images)
    dst = work / f"series-{images}-out"
    code = MEMORY_CHILD.format(
        root=str(ROOT), src=str(src), dst=str(dst), report=str(work / f"report-{images}.json")
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": ""}
    child = subprocess.run(  # noqa: S603 - this interpreter running our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    data = json.loads(child.stdout.strip().splitlines()[-1])
    shutil.rmtree(src)
    shutil.rmtree(dst)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--memory-images", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--tmp", type=Path, help="where to generate the files (default: system temp)"
    )
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, pydicom {pydicom.__version__}, {os.cpu_count()} cores"
    )
    results: dict = {"files": args.files}
    with tempfile.TemporaryDirectory(prefix="anon-bench-", dir=args.tmp) as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        files = generate(work / "in", args.files)
        print(f"generated {len(files)} files in {time.perf_counter() - start:.1f} s")
        for path in files:  # warm the page cache so that the first run is not penalised
            path.read_bytes()
        results["plain"] = timed("plain", plain, files, work, args.repeats)
        results["ours"] = timed("ours", ours, files, work, args.repeats)
        results["ours_verified"] = timed("ours + verify", ours_verified, files, work, args.repeats)
        try:
            import dicognito  # noqa: F401
        except ImportError:
            print("  dicognito        skipped (pip install dicognito to compare)")
            results["dicognito"] = None
        else:
            results["dicognito"] = timed("dicognito", dicognito_run, files, work, args.repeats)

        print("ratios of files/s (wall clock; CPU time in brackets):")

        def ratio(a: str, b: str) -> str:
            wall = results[a]["files_per_s"] / results[b]["files_per_s"]
            cpu = results[b]["cpu_ms_per_file"] / results[a]["cpu_ms_per_file"]
            return f"{wall:.2f} ({cpu:.2f})"

        print(f"  ours / plain             {ratio('ours', 'plain')}  goal >= 0.5")
        print(f"  ours + verify / plain    {ratio('ours_verified', 'plain')}")
        if results["dicognito"]:
            print(f"  ours / dicognito         {ratio('ours', 'dicognito')}  goal >= 1.5")
            print(f"  ours + verify / dicognito {ratio('ours_verified', 'dicognito')}")

        print("peak memory of anonymize_directory over one series (fresh process each):")
        results["memory"] = {}
        for images in sorted({max(1, args.memory_images // 10), args.memory_images}):
            data = memory(images, work)
            results["memory"][images] = data
            print(
                f"  {images:>5} images: peak RSS {data['peak_kib'] / 1024:.0f} MiB "
                f"(after imports {data['before_kib'] / 1024:.0f} MiB), "
                f"peak Python heap {data['heap_peak_bytes'] / 2**20:.1f} MiB "
                f"(tracemalloc, which also slows the run)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process's peak RSS: {peak:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
