"""What a fresh set-up downloads: sizes of every file in a pip ``--report``, by origin.

The README's download figures come from here. Make a report without installing anything, with
none of this machine's pip configuration (its local mirrors), e.g. against plain PyPI::

    PIP_CONFIG_FILE=/dev/null python -m pip install --dry-run --ignore-installed \\
        --report default.json -c constraints.txt -e ".[dev]"
    python .ci/measure_downloads.py default.json

Sizes come from the files themselves: a local path's size on disk, an HTTP URL's
``Content-Length`` (one HEAD request each). Prints the total, the torch wheel, and the CUDA
packages torch pulls in on Linux (``nvidia-*``, ``cuda-*``, ``triton``), largest first.
"""

import json
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CUDA = ("nvidia-", "cuda-", "triton")


def size(url):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.parse.unquote(parsed.path)).stat().st_size
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(response.headers["Content-Length"])


def measure(report):
    """``[(name, version, url, bytes)]`` of every file the report would download."""
    items = [
        (i["metadata"]["name"], i["metadata"]["version"], i["download_info"]["url"])
        for i in json.loads(Path(report).read_text())["install"]
        if not i["download_info"]["url"].startswith("file://" + str(Path.cwd()))  # the project
        and "dir_info" not in i["download_info"]
    ]
    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(size, [url for _, _, url in items]))
    return [(*item, n) for item, n in zip(items, sizes, strict=True)]


def main(report):
    rows = measure(report)
    mb = lambda n: f"{n / 1e6:,.1f} MB"  # noqa: E731
    total = sum(r[3] for r in rows)
    print(f"{report}: {len(rows)} files, {mb(total)}")
    for name, version, url, n in rows:
        if name.lower() == "torch":
            print(f"  torch {version}: {mb(n)} ({url.rsplit('/', 1)[-1].split('#')[0]})")
    cuda = sorted((r for r in rows if r[0].lower().startswith(CUDA)), key=lambda r: -r[3])
    print(f"  CUDA packages: {len(cuda)}, {mb(sum(r[3] for r in cuda))}")
    for name, version, _, n in cuda:
        print(f"    {name} {version}: {mb(n)}")
    local = sum(r[3] for r in rows if not r[2].startswith("http"))
    print(f"  from local paths: {mb(local)}; over HTTP: {mb(total - local)}")


if __name__ == "__main__":
    for path in sys.argv[1:]:
        main(path)
