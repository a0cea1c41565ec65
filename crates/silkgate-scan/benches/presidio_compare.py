#!/usr/bin/env python3
"""Compare Silkgate's scanner with Microsoft Presidio's analyzer (pattern recognisers only,
offline, with Presidio's no-op NLP engine configuration).

Two measurements:
  throughput FILE SCANNER  Presidio on the first 10 MB of FILE (cut at a line end), one
                        analyze() call per CSV line; the same slice scanned by SCANNER
                        (`target/release/examples/scan_json`, which prints what
                        `silkgate scan --format json` prints); CPU seconds and MB/s of each.
  labels DIR SCANNER    column labels (findings with score >= 0.4) on the corpus written by
                        `cargo run -p silkgate-scan --example labelled_corpus -- DIR`:
                        Presidio's label of a value is its highest-scoring finding, and of
                        a column the label of most of its values (if at least half);
                        Silkgate's comes from SCANNER.

Setup: python3 -m venv V && V/bin/pip install presidio-analyzer; run with V/bin/python.
"""
import csv
import glob
import json
import os
import resource
import subprocess
import sys
import time

import presidio_analyzer
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

# Presidio entity types that correspond to Silkgate's entities.
PRESIDIO_TO_OURS = {
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "PAYMENT_CARD",
    "IBAN_CODE": "IBAN",
    "PERSON": "PERSON_NAME",
    "DATE_TIME": "DATE_OF_BIRTH",
    "IN_PAN": "IN_PAN",
    "IN_AADHAAR": "IN_AADHAAR",
}


def engine():
    conf_dir = os.path.join(os.path.dirname(presidio_analyzer.__file__), "conf")
    candidates = sorted(glob.glob(os.path.join(conf_dir, "*no_op*.yaml")))
    if not candidates:
        sys.exit(f"no no_op NLP configuration under {conf_dir}")
    provider = NlpEngineProvider(conf_file=candidates[0])
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"]), candidates[0]


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def throughput(path, silkgate, slice_bytes=10 * 10**6):
    with open(path, "rb") as f:
        data = f.read(slice_bytes)
    data = data[: data.rfind(b"\n") + 1]
    slice_path = path + ".10MB.csv"
    with open(slice_path, "wb") as f:
        f.write(data)
    lines = data.decode("utf-8").splitlines()[1:]
    analyzer, conf = engine()
    c0, t0 = cpu(), time.perf_counter()
    found = 0
    for line in lines:
        found += len(analyzer.analyze(text=line, language="en"))
    p_cpu, p_wall = cpu() - c0, time.perf_counter() - t0
    mb = len(data) / 1e6
    c0, t0 = child_cpu(), time.perf_counter()
    subprocess.run([silkgate, slice_path], check=True, stdout=subprocess.DEVNULL)
    s_cpu, s_wall = child_cpu() - c0, time.perf_counter() - t0
    os.remove(slice_path)
    print(f"slice: {len(data)} bytes, {len(lines)} lines; Presidio {presidio_analyzer.__version__ if hasattr(presidio_analyzer, '__version__') else ''} conf {os.path.basename(conf)}")
    print(f"presidio: CPU {p_cpu:.1f} s ({mb / p_cpu:.2f} MB/s), wall {p_wall:.1f} s, {found} findings")
    print(f"silkgate: CPU {s_cpu:.2f} s ({mb / max(s_cpu, 0.01):.1f} MB/s, process incl. start-up), wall {s_wall:.2f} s")
    print(f"ratio (CPU): {p_cpu / max(s_cpu, 0.01):.0f}x")


def labels(directory, silkgate):
    with open(os.path.join(directory, "labels.json")) as f:
        truth = json.load(f)
    analyzer, _ = engine()
    stats = {}  # entity -> [columns, presidio right, silkgate right]
    distractors = [0, 0, 0]  # columns, presidio reported, silkgate reported
    for name, cols in sorted(truth.items()):
        path = os.path.join(directory, name)
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        out = subprocess.run([silkgate, path], check=True, capture_output=True, text=True)
        ours = [c["entity"] for c in json.loads(out.stdout)["columns"]]
        for i, (header, label) in enumerate(cols):
            counts, non_empty = {}, 0
            for row in rows:
                v = row[i].strip() if i < len(row) else ""
                if not v:
                    continue
                non_empty += 1
                found = analyzer.analyze(text=v, language="en", score_threshold=0.4)
                if found:
                    # Presidio's best guess for the value: its highest-scoring finding.
                    t = max(found, key=lambda r: r.score).entity_type
                    counts[t] = counts.get(t, 0) + 1
            best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
            presidio = PRESIDIO_TO_OURS.get(best[0], best[0]) if best[1] * 2 >= max(non_empty, 1) else None
            if label is None:
                distractors[0] += 1
                distractors[1] += presidio is not None
                distractors[2] += ours[i] is not None
            else:
                s = stats.setdefault(label, [0, 0, 0])
                s[0] += 1
                s[1] += presidio == label
                s[2] += ours[i] == label
    print(f"{'entity':<20} {'columns':>7} {'Presidio':>9} {'Silkgate':>9}   (column recall)")
    for e, (n, p, s) in sorted(stats.items()):
        print(f"{e:<20} {n:>7} {p / n:>9.2f} {s / n:>9.2f}")
    print(f"distractor columns: {distractors[0]}, labelled by Presidio: {distractors[1]}, by Silkgate: {distractors[2]}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "throughput":
        throughput(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "target/release/examples/scan_json")
    elif len(sys.argv) >= 3 and sys.argv[1] == "labels":
        labels(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "target/release/examples/scan_json")
    else:
        sys.exit(__doc__)
