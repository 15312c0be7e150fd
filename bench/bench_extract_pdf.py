"""A 20-page PDF report through `extract` after everything is loaded (issue target: < 2 s).

    .venv/bin/python bench/bench_extract_pdf.py [--db KB] [--pages 20] [--rounds 3]

The PDF is made here with fpdf2 from AnnoCTR report texts (real CTI prose, IOCs included) until
it has the requested number of A4 pages. Loading (warning lists, gazetteer from the knowledge
base, technique model) is timed separately; the timed part is text extraction from the PDF,
IOCs, entities, techniques and the STIX bundle.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))


def make_pdf(path: Path, pages: int) -> int:
    from fpdf import FPDF

    texts = [p.read_text(encoding="utf-8") for p in sorted((DATA / "text/annoctr").rglob("*.txt"))]
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    words = 0
    for text in texts:
        for paragraph in text.split("\n"):
            clean = paragraph.encode("latin-1", "replace").decode("latin-1").strip()
            if clean:
                pdf.multi_cell(0, 5, clean, new_x="LMARGIN", new_y="NEXT")
                words += len(clean.split())
            if pdf.page_no() > pages:
                break
        if pdf.page_no() > pages:
            break
    pdf.output(str(path))
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="knowledge base (ATT&CK + MISP); default: none")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, help="technique model (default: none)")
    args = parser.parse_args()

    from threatscope.extract import document, load_warninglists
    from threatscope.extract.entities import build_gazetteer
    from threatscope.extract.techniques import load_model
    from threatscope.store import open_store

    store = open_store(args.db, create=False) if args.db else None
    began = time.perf_counter()
    load_warninglists()
    gazetteer = build_gazetteer(store)
    model = load_model(args.model) if args.model else None
    document.build_gazetteer = lambda _store: gazetteer  # reuse the loaded one, as a server would
    print(f"load (warning lists, gazetteer, model): {time.perf_counter() - began:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        words = make_pdf(pdf, args.pages)
        times = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            extraction = document.extract_file(pdf, store, model)
            document.extraction_bundle(extraction, store)
            times.append(time.perf_counter() - began)
        summary = extraction.summary()
        print(
            f"{args.pages}-page PDF ({words:,} words, {extraction.characters:,} characters):"
            f" {statistics.median(times):.3f} s median of {args.rounds}"
            f" — {len(summary['iocs'])} IOCs, {len(summary['techniques'])} techniques,"
            f" {len(summary['actors'])} actors, {len(summary['malware'])} malware"
            f" ({summary['technique_model']})"
        )


if __name__ == "__main__":
    main()
