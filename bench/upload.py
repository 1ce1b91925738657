"""Upload throughput: our multipart uploader (progress + checksums) vs boto3's upload_file defaults.

Both upload the same file to the same local moto S3 server (its own process, real HTTP) in the
same run, in alternating order (ours, boto3, boto3, ours, ...) so drift in machine load hits both.
Each object is deleted after its run to keep the server's memory flat.

    .venv/bin/python bench/upload.py [--size-mib 136] [--rounds 9] [--endpoint http://...]

ours:  S3Uploader with default UploadOptions (8 MiB parts, 4 threads, CRC32 per part verified
       against the object's checksum afterwards, byte progress every 100 ms, HeadObject check)
boto3: client.upload_file(path, bucket, key) with default TransferConfig (8 MiB parts, 10
       threads; botocore >= 1.36 also sends a CRC32 per part by default)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from app.domain.transfer import UploadProgress
from app.services.storage import S3Config, S3Uploader, make_client

OUT = Path(__file__).resolve().parent / "out"
MIB = 1024 * 1024
BUCKET = "bench-upload"
KEY_ID, SECRET = "bench", "bench-secret"


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("moto_server did not start")


def make_file(size: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"upload-{size // MIB}mib.bin"
    if not path.exists() or path.stat().st_size != size:
        # Random bytes: incompressible like a gzip staging file.
        with path.open("wb") as out:
            for _ in range(size // MIB):
                out.write(os.urandom(MIB))
            out.write(os.urandom(size % MIB))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=136)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--endpoint", help="an S3 endpoint already running (default: start moto)")
    args = parser.parse_args()

    process = None
    endpoint = args.endpoint
    if endpoint is None:
        process, endpoint = start_moto()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", KEY_ID)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET)
    try:
        path = make_file(args.size_mib * MIB)
        size = path.stat().st_size
        config = S3Config(
            bucket=BUCKET,
            endpoint_url=endpoint,
            region="us-east-1",
            path_style=True,
            credentials="chain",
        )
        ours = S3Uploader(make_client(config), config)
        baseline = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        baseline.create_bucket(Bucket=BUCKET)

        events: list[UploadProgress] = []
        ticks = 0

        def run_ours(key: str) -> None:
            result = ours.upload_file(path, key, on_progress=events.append)
            assert result.bytes == size and result.checksum

        def run_boto3(key: str) -> None:
            baseline.upload_file(str(path), BUCKET, key)

        contenders = {"ours": run_ours, "boto3": run_boto3}
        times: dict[str, list[float]] = {name: [] for name in contenders}
        # A warm-up of each: connection pools, moto's first-request costs, the page cache.
        for name, run in contenders.items():
            run(f"warmup-{name}")
            baseline.delete_object(Bucket=BUCKET, Key=f"warmup-{name}")
        for round_no in range(args.rounds):
            order = list(contenders) if round_no % 2 == 0 else list(reversed(contenders))
            for name in order:
                key = f"round-{round_no}-{name}"
                events.clear()
                started = time.perf_counter()
                contenders[name](key)
                times[name].append(time.perf_counter() - started)
                baseline.delete_object(Bucket=BUCKET, Key=key)
                if name == "ours":
                    ticks = len(events)
        leftover = baseline.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    finally:
        if process is not None:
            process.terminate()
            process.wait()

    def mib_s(seconds: float) -> float:
        return size / MIB / seconds

    print(f"\n{size / MIB:.0f} MiB file, {args.rounds} rounds, server {endpoint}")
    print(
        f"{'contender':<10} {'best s':>8} {'median s':>9} {'best MiB/s':>11} {'median MiB/s':>13}"
    )
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        print(f"{name:<10} {best:>8.2f} {median:>9.2f} {mib_s(best):>11.1f} {mib_s(median):>13.1f}")
    print(
        f"progress events in ours' last run: {ticks}; multipart uploads left open: {len(leftover)}"
    )
    # Each round runs both back to back, so its ratio sees one machine load; the median of
    # those ratios is what drift and one lucky round move least.
    paired = [b / o for o, b in zip(times["ours"], times["boto3"], strict=True)]
    print("per-round ratio (ours/boto3 throughput): " + " ".join(f"{r:.2f}" for r in paired))
    ours_rate = mib_s(statistics.median(times["ours"]))
    boto_rate = mib_s(statistics.median(times["boto3"]))
    print(
        f"RESULT ours_mib_s={ours_rate:.1f} boto3_mib_s={boto_rate:.1f} "
        f"ratio={statistics.median(paired):.3f}"
    )


if __name__ == "__main__":
    main()
