"""Benchmark: our validate + stage against bare Polars/fastexcel and a pandas equivalent.

Run: .venv/bin/python bench/validate.py [--rows 5000000] [--xlsx-rows 100000] [--workdir DIR]

Every contender runs in its own subprocess, so peak memory (ru_maxrss) is its own. The CSV and
workbook are generated once into the work folder (default bench/out/, git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))


# --- contenders, each run inside a worker subprocess --------------------------------------------


def bare_polars_csv(src: Path, out: Path) -> dict[str, object]:
    import polars as pl

    pl.scan_csv(src).sink_parquet(out / "bare.parquet")
    return {}


def ours_csv(src: Path, out: Path, fmt: str) -> dict[str, object]:
    from app.services.reading import open_source
    from app.services.staging import StagingOptions, validate_and_stage
    from app.services.validation import ValidateOptions

    source = open_source(src)
    try:
        outcome, result = validate_and_stage(
            source, ValidateOptions(), out, "ours", StagingOptions(format=fmt)  # type: ignore[arg-type]
        )
    finally:
        source.close()
    assert result is not None, outcome.report.issues[:5]
    return {
        "rows": result.rows,
        "one_pass": outcome.speculation_confirmed,
        "bytes": result.bytes,
        "path": str(result.path),
    }


def pandas_csv(src: Path, out: Path) -> dict[str, object]:
    import pandas as pd

    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    checks: dict[str, object] = {}
    for name in frame.columns:
        column = frame[name].str.strip().replace({"": None, "NULL": None, "N/A": None})
        numbers = pd.to_numeric(column, errors="coerce")
        dates = pd.to_datetime(column, errors="coerce", format="mixed") if "date" in name else None
        checks[name] = (
            int(column.notna().sum()),
            int(numbers.notna().sum()),
            int(dates.notna().sum()) if dates is not None else 0,
            column.nunique(),
        )
        if numbers.notna().sum() == column.notna().sum():
            frame[name] = numbers
        elif dates is not None and dates.notna().sum() == column.notna().sum():
            frame[name] = dates
    frame.to_parquet(out / "pandas.parquet")
    return {"columns": len(checks)}


def _pipeline_format() -> str:
    """The staging format the pipeline uploads: the settings' default."""
    from app.services.settings import Settings

    return Settings.model_fields["staging_format"].default  # type: ignore[no-any-return]


def bare_fastexcel(src: Path, out: Path) -> dict[str, object]:
    import fastexcel

    frame = fastexcel.read_excel(src).load_sheet(0).to_polars()
    return {"rows": frame.height}


def ours_xlsx(src: Path, out: Path) -> dict[str, object]:
    from app.services.reading import open_source
    from app.services.validation import validate_source

    source = open_source(src)
    outcome = validate_source(source)
    return {"rows": outcome.report.rows, "verdict": outcome.report.verdict.value}


def pandas_xlsx(src: Path, out: Path) -> dict[str, object]:
    import pandas as pd

    frame = pd.read_excel(src, engine="openpyxl")
    return {"rows": len(frame)}


WORKERS = {
    "bare_polars_csv": bare_polars_csv,
    "ours_csv_parquet": lambda s, o: ours_csv(s, o, "parquet"),
    "ours_csv_pipeline": lambda s, o: ours_csv(s, o, _pipeline_format()),
    "ours_csv_ndjson_gz": lambda s, o: ours_csv(s, o, "ndjson.gz"),
    "pandas_csv": pandas_csv,
    "bare_fastexcel": bare_fastexcel,
    "ours_xlsx": ours_xlsx,
    "pandas_xlsx": pandas_xlsx,
}


def _anon_rss_sampler(peak: list[int], stop: threading.Event) -> None:
    """Peak anonymous memory: RSS also counts the memory-mapped input's page cache."""
    status = Path("/proc/self/status")
    while not stop.is_set():
        for line in status.read_text().splitlines():
            if line.startswith("RssAnon:"):
                peak[0] = max(peak[0], int(line.split()[1]))
        stop.wait(0.02)


def _worker(name: str, src: Path, out: Path) -> None:
    peak = [0]
    stop = threading.Event()
    sampler = threading.Thread(target=_anon_rss_sampler, args=(peak, stop), daemon=True)
    sampler.start()
    started = time.perf_counter()
    extra = WORKERS[name](src, out)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    print(json.dumps({"seconds": seconds, "peak_anon_mb": peak[0] / 1024, **extra}))


# --- the parent: generate inputs, run each contender, print the table ---------------------------


def _measure(name: str, src: Path, out: Path) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", name, str(src), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    stdout = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed (exit {status}): {stdout}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    # CPU time of the child (user + system): steadier than wall time on a shared machine.
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def _best_of(name: str, src: Path, out: Path, repeats: int) -> dict[str, Any]:
    runs = [_measure(name, src, out) for _ in range(repeats)]
    best = min(runs, key=lambda r: float(r["seconds"]))
    best["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in runs)
    best["peak_anon_mb"] = max(float(r["peak_anon_mb"]) for r in runs)
    best["cpu_s"] = min(float(r["cpu_s"]) for r in runs)
    return best


def _generate(function: str, path: Path, rows: int) -> None:
    code = f"import datagen; from pathlib import Path; datagen.{function}(Path({str(path)!r}), {rows})"
    subprocess.run([sys.executable, "-c", code], cwd=BENCH_DIR, check=True)


LABELS = {
    "bare_polars_csv": "bare polars scan_csv -> sink_parquet",
    "ours_csv_pipeline": "ours: validate + stage ({fmt}, pipeline)",
    "ours_csv_parquet": "ours: validate + stage (Parquet)",
    "ours_csv_ndjson_gz": "ours: validate + stage (NDJSON.gz)",
    "pandas_csv": "pandas read_csv + checks + to_parquet",
    "bare_fastexcel": "bare fastexcel -> polars",
    "ours_xlsx": "ours: read + validate (xlsx)",
    "pandas_xlsx": "pandas read_excel (openpyxl)",
}


def _upload_seconds(paths: dict[str, Path]) -> dict[str, float]:
    """Upload each staged file to a local moto server the way the pipeline does (best of two)."""
    import upload as upload_bench  # bench/upload.py: its moto launcher

    from app.services.storage import S3Config, S3Uploader, make_client

    process, endpoint = upload_bench.start_moto()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", upload_bench.KEY_ID)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", upload_bench.SECRET)
    try:
        config = S3Config(
            bucket=upload_bench.BUCKET, endpoint_url=endpoint, region="us-east-1",
            path_style=True, credentials="chain",
        )
        uploader = S3Uploader(make_client(config), config)
        uploader.client.create_bucket(Bucket=upload_bench.BUCKET)
        seconds: dict[str, float] = {}
        for name, path in paths.items():
            runs = []
            for attempt in range(2):
                started = time.perf_counter()
                uploader.upload_file(path, f"{name}-{attempt}")
                runs.append(time.perf_counter() - started)
                uploader.client.delete_object(Bucket=upload_bench.BUCKET, Key=f"{name}-{attempt}")
            seconds[name] = min(runs)
        return seconds
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--skip-pandas", action="store_true", help="The pandas runs are slow.")
    parser.add_argument("--gzip", action="store_true", help="Also stage as NDJSON.gz (slow).")
    parser.add_argument(
        "--upload", action="store_true", help="Also upload each staged file to a local moto S3."
    )
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "SRC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, src, out = args.worker
        _worker(name, Path(src), Path(out))
        return

    work: Path = args.workdir
    out = work / "staging"
    out.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"sales_{args.rows}.csv"
    xlsx_path = work / f"sales_{args.xlsx_rows}.xlsx"
    # Generated in child processes: a parent grown by the data would inflate the workers'
    # ru_maxrss, which counts the pages a forked child shares before it execs.
    if not csv_path.exists():
        print(f"generating {csv_path} ...", file=sys.stderr)
        _generate("write_csv", csv_path, args.rows)
    if not xlsx_path.exists():
        print(f"generating {xlsx_path} ...", file=sys.stderr)
        _generate("write_xlsx", xlsx_path, args.xlsx_rows)
    size_mb = csv_path.stat().st_size / 1e6
    fmt = _pipeline_format()

    csv_names = ["bare_polars_csv", "ours_csv_pipeline", "ours_csv_parquet"]
    if args.gzip:
        csv_names.append("ours_csv_ndjson_gz")
    xlsx_names = ["bare_fastexcel", "ours_xlsx"]
    if not args.skip_pandas:
        csv_names.append("pandas_csv")
        xlsx_names.append("pandas_xlsx")
    results: dict[str, dict[str, Any]] = {}
    for name in csv_names:
        print(f"running {name} ...", file=sys.stderr)
        results[name] = _best_of(name, csv_path, out, 1 if "pandas" in name else args.repeats)
    for name in xlsx_names:
        print(f"running {name} ...", file=sys.stderr)
        results[name] = _best_of(name, xlsx_path, out, 1 if "pandas" in name else args.repeats)

    def value(name: str, key: str) -> float:
        return float(results[name][key]) if name in results else float("nan")

    print(f"\nCSV: {args.rows:,} rows, {size_mb:,.0f} MB   |   XLSX: {args.xlsx_rows:,} rows\n")
    print(
        f"{'contender':<46}{'seconds':>9}{'x base':>8}{'CPU s':>8}{'x base':>8}"
        f"{'peak RSS MB':>13}{'anon MB':>9}{'file MB':>9}"
    )
    for name, result in results.items():
        base = "bare_fastexcel" if name in xlsx_names else "bare_polars_csv"
        staged = result.get("bytes")
        print(
            f"{LABELS[name].format(fmt=fmt):<46}{value(name, 'seconds'):>9.2f}"
            f"{value(name, 'seconds') / value(base, 'seconds'):>8.2f}"
            f"{value(name, 'cpu_s'):>8.2f}{value(name, 'cpu_s') / value(base, 'cpu_s'):>8.2f}"
            f"{value(name, 'peak_rss_mb'):>13.0f}{value(name, 'peak_anon_mb'):>9.0f}"
            f"{(float(staged) / 1e6 if staged is not None else float('nan')):>9.0f}"
        )
    uploads: dict[str, float] = {}
    if args.upload:
        staged = {n: Path(str(results[n]["path"])) for n in results if "path" in results[n]}
        uploads = _upload_seconds(staged)
        print("\nstage + upload to a local moto server (S3Uploader, default options):")
        for name, seconds in uploads.items():
            total = value(name, "seconds") + seconds
            print(f"  {LABELS[name].format(fmt=fmt):<44} upload {seconds:6.2f} s   total {total:6.2f} s")
    one_pass = results["ours_csv_pipeline"].get("one_pass")
    print(f"\nours wrote the staging file during validation (one pass): {one_pass}")
    print("targets: CSV ours <= 1.5x bare and peak RSS <= 600 MB; XLSX ours no slower than before")
    fields = {
        "csv_format": fmt,
        "csv_ours_s": value("ours_csv_pipeline", "seconds"),
        "csv_bare_polars_s": value("bare_polars_csv", "seconds"),
        "csv_ratio": value("ours_csv_pipeline", "seconds") / value("bare_polars_csv", "seconds"),
        "csv_cpu_ratio": value("ours_csv_pipeline", "cpu_s") / value("bare_polars_csv", "cpu_s"),
        "csv_peak_rss_mb": value("ours_csv_pipeline", "peak_rss_mb"),
        "csv_peak_anon_mb": value("ours_csv_pipeline", "peak_anon_mb"),
        "csv_parquet_s": value("ours_csv_parquet", "seconds"),
        "csv_parquet_ratio": value("ours_csv_parquet", "seconds")
        / value("bare_polars_csv", "seconds"),
        "csv_parquet_cpu_ratio": value("ours_csv_parquet", "cpu_s")
        / value("bare_polars_csv", "cpu_s"),
        "csv_parquet_peak_rss_mb": value("ours_csv_parquet", "peak_rss_mb"),
        "csv_bare_peak_rss_mb": value("bare_polars_csv", "peak_rss_mb"),
        "csv_ndjson_gz_s": value("ours_csv_ndjson_gz", "seconds"),
        "csv_pandas_s": value("pandas_csv", "seconds"),
        "xlsx_ours_s": value("ours_xlsx", "seconds"),
        "xlsx_bare_fastexcel_s": value("bare_fastexcel", "seconds"),
        "xlsx_ratio": value("ours_xlsx", "seconds") / value("bare_fastexcel", "seconds"),
        "xlsx_cpu_ratio": value("ours_xlsx", "cpu_s") / value("bare_fastexcel", "cpu_s"),
        "xlsx_pandas_s": value("pandas_xlsx", "seconds"),
        **{f"upload_{name}_s": seconds for name, seconds in uploads.items()},
    }
    print(
        "RESULT "
        + " ".join(
            f"{key}={item}" if isinstance(item, str) else f"{key}={item:.3f}"
            for key, item in fields.items()
        )
    )


if __name__ == "__main__":
    main()
