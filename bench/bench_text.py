"""Every text-intelligence figure of issue 12 in one run, each beside its baseline or peer.

    nice .venv/bin/python bench/bench_text.py [--quick]

Builds an ATT&CK + MISP galaxy knowledge base and a technique model (`threatscope train`) in a
temporary folder with private user directories, then runs, one after another:

1. `bench_techniques.py`: shipped model vs plain TF-IDF + LinearSVC on AnnoCTR dev and report CV
   (AnnoCTR train, TRAM2), every view with paired bootstrap intervals, and the time of a
   10,000-word report (`--quick`: dev only);
2. `bench_extract_speed.py`: the whole `extract` process against ioc-finder's, same corpus
   (no technique model: ioc-finder has none);
3. `bench_entities.py`: malware/tool precision and recall on AnnoCTR dev;
4. `bench_attribute_masked.py`: `attribute --text` top-1/top-3/nexus with actor names masked;
5. `bench_import_reports.py`: sector, country and nexus accuracy of `import reports`.

About 15 minutes on 2 cores (the model is trained twice: here, and inside the technique
bench). Each part's own output is printed under its heading.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="technique bench on AnnoCTR dev only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "THREATSCOPE_DB": str(home / "kb.db"),
        }
        data = Path(env.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
        cli = [sys.executable, "-c", "from threatscope.cli import app; app()"]
        model = home / "techniques.joblib"
        setup = [
            [*cli, "import", "attack", str(data / "attack" / "enterprise-attack-18.1.json")],
            [*cli, "import", "misp-galaxy"],
            [*cli, "train", "--output", str(model)],
        ]
        for command in setup:
            _run("setup: " + " ".join(command[3:5]), command, env)
        db = env["THREATSCOPE_DB"]
        bench = [sys.executable]
        parts = [
            ("techniques", ["bench_techniques.py", *(["--no-cv"] if args.quick else [])]),
            # ioc-finder classifies no techniques: both sides do the same work without a model
            # (the model's own time is in the technique bench: a 10,000-word report).
            ("extract speed", ["bench_extract_speed.py", "--db", db]),
            ("entities", ["bench_entities.py", "--db", db]),
            ("attribution", ["bench_attribute_masked.py", "--db", db, "--model", str(model)]),
            ("import reports", ["bench_import_reports.py", "--db", db]),
        ]
        for title, (script, *rest) in parts:
            _run(title, [*bench, str(ROOT / "bench" / script), *rest], env, show=True)


def _run(title: str, command: list[str], env: dict[str, str], show: bool = False) -> None:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    print(f"\n=== {title} ({seconds:.0f} s, exit {done.returncode})", flush=True)
    if show or done.returncode:
        print(done.stdout.rstrip())
    if done.returncode:
        print(done.stderr.rstrip()[-2000:])
        sys.exit(done.returncode)


if __name__ == "__main__":
    main()
