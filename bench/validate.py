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
    return {"rows": result.rows, "one_pass": outcome.speculation_confirmed, "bytes": result.bytes}


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
    "ours_csv_ndjson": lambda s, o: ours_csv(s, o, "ndjson.gz"),
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


def _measure(name: str, src: Path, out: Path) -> dict[str, float | object]:
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
    return result


def _best_of(name: str, src: Path, out: Path, repeats: int) -> dict[str, float | object]:
    runs = [_measure(name, src, out) for _ in range(repeats)]
    best = min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    best["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in runs)  # type: ignore[arg-type]
    best["peak_anon_mb"] = max(float(r["peak_anon_mb"]) for r in runs)  # type: ignore[arg-type]
    return best


def _generate(function: str, path: Path, rows: int) -> None:
    code = f"import datagen; from pathlib import Path; datagen.{function}(Path({str(path)!r}), {rows})"
    subprocess.run([sys.executable, "-c", code], cwd=BENCH_DIR, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--skip-pandas", action="store_true", help="The pandas runs are slow.")
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

    csv_names = ["bare_polars_csv", "ours_csv_parquet", "ours_csv_ndjson"]
    xlsx_names = ["bare_fastexcel", "ours_xlsx"]
    if not args.skip_pandas:
        csv_names.append("pandas_csv")
        xlsx_names.append("pandas_xlsx")
    results: dict[str, dict[str, float | object]] = {}
    for name in csv_names:
        print(f"running {name} ...", file=sys.stderr)
        results[name] = _best_of(name, csv_path, out, 1 if "pandas" in name else args.repeats)
    for name in xlsx_names:
        print(f"running {name} ...", file=sys.stderr)
        results[name] = _best_of(name, xlsx_path, out, 1 if "pandas" in name else args.repeats)

    def seconds(name: str) -> float:
        return float(results[name]["seconds"]) if name in results else float("nan")  # type: ignore[arg-type]

    base_csv = seconds("bare_polars_csv")
    base_xlsx = seconds("bare_fastexcel")
    print(f"\nCSV: {args.rows:,} rows, {size_mb:,.0f} MB   |   XLSX: {args.xlsx_rows:,} rows\n")
    print(f"{'contender':<44}{'seconds':>9}{'x baseline':>12}{'peak RSS MB':>13}{'anon MB':>9}")
    labels = {
        "bare_polars_csv": "bare polars scan_csv -> sink_parquet",
        "ours_csv_parquet": "ours: validate + stage (Parquet)",
        "ours_csv_ndjson": "ours: validate + stage (NDJSON.gz)",
        "pandas_csv": "pandas read_csv + checks + to_parquet",
        "bare_fastexcel": "bare fastexcel -> polars",
        "ours_xlsx": "ours: read + validate",
        "pandas_xlsx": "pandas read_excel (openpyxl)",
    }
    for name, result in results.items():
        base = base_xlsx if name in xlsx_names else base_csv
        ratio = seconds(name) / base
        rss = float(result["peak_rss_mb"])  # type: ignore[arg-type]
        anon = float(result["peak_anon_mb"])  # type: ignore[arg-type]
        print(f"{labels[name]:<44}{seconds(name):>9.2f}{ratio:>12.2f}{rss:>13.0f}{anon:>9.0f}")
    one_pass = results["ours_csv_parquet"].get("one_pass")
    print(f"\nours wrote the staging file during validation (one pass): {one_pass}")
    print("targets: CSV ours <= 1.5x bare and peak RSS < 600 MB; XLSX ours <= 1.3x bare")
    fields = {
        "csv_ours_s": seconds("ours_csv_parquet"),
        "csv_ours_ndjson_s": seconds("ours_csv_ndjson"),
        "csv_bare_polars_s": base_csv,
        "csv_pandas_s": seconds("pandas_csv"),
        "csv_ratio": seconds("ours_csv_parquet") / base_csv,
        "csv_peak_rss_mb": float(results["ours_csv_parquet"]["peak_rss_mb"]),  # type: ignore[arg-type]
        "csv_peak_anon_mb": float(results["ours_csv_parquet"]["peak_anon_mb"]),  # type: ignore[arg-type]
        "xlsx_ours_s": seconds("ours_xlsx"),
        "xlsx_bare_fastexcel_s": base_xlsx,
        "xlsx_pandas_s": seconds("pandas_xlsx"),
        "xlsx_ratio": seconds("ours_xlsx") / base_xlsx,
    }
    print("RESULT " + " ".join(f"{key}={value:.3f}" for key, value in fields.items()))


if __name__ == "__main__":
    main()
