"""Canonical digest of a hygiene job's outputs: checks that a refactor leaves them unchanged.

    python scripts/output_digest.py OUTPUT_DIR DIGEST.json      # digest one job's outputs
    python scripts/output_digest.py --compare A B               # A, B: digests or output dirs

The digest is sorted JSON: per record id, where it went (cleaned or quarantine), its kind,
the cleaned flags and redactions or the quarantine reasons, evidence, kept_id, group_size
and clusters, its risk, and SHA-256 hashes of its text, caption and image (and raw bytes);
evidence details (JSON strings) are re-dumped with sorted keys. summary.json comes along
without what depends on the run rather than the data (started_at, outputs paths, timings).
Provenance (source, location) is left out: it names input paths, which differ per checkout.
--compare prints what differs (records in one only, then per field, with examples) and
exits 1 when anything does, 0 when the two are the same. Needs only pyarrow, no project
imports, so it reads the outputs of any version of the code.
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import sys

import pyarrow.parquet as pq

RUN_DEPENDENT = {"started_at", "finished_at", "outputs", "timings", "seconds"}
EXAMPLES = 3


def _hash(value):
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8") if isinstance(value, str) else value).hexdigest()


def _evidence(items):
    return [{"reason": e["reason"], "stage": e["stage"], "action": e["action"],
             "detail": json.dumps(json.loads(e["detail"]), sort_keys=True)} for e in items]


def _rows(output, folder):
    for path in sorted(glob.glob(os.path.join(output, folder, "*.parquet"))):
        yield from pq.read_table(path).to_pylist()


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in RUN_DEPENDENT}
    return [_strip(v) for v in value] if isinstance(value, list) else value


def digest(output):
    records = {}

    def add(row, entry):
        key, n = row["id"], 1
        while key in records:   # ids are unique in a correct run; keep any duplicate visible
            n += 1
            key = f"{row['id']}#{n}"
        records[key] = entry

    for kind in ("text", "image_text"):
        for row in _rows(output, os.path.join("cleaned", kind)):
            add(row, {"destination": "cleaned", "kind": kind, "flags": _evidence(row["flags"]),
                      "redactions": row["redactions"], "removed": row.get("removed"),
                      "risk": row["risk"],
                      "text": _hash(row.get("text")), "caption": _hash(row.get("caption")),
                      "image": _hash(row.get("image"))})
    for row in _rows(output, "quarantine"):
        add(row, {"destination": "quarantine", "kind": row["kind"],
                  "primary_reason": row["primary_reason"], "reasons": row["reasons"],
                  "evidence": _evidence(row["evidence"]), "kept_id": row["kept_id"],
                  "group_size": row["group_size"], "clusters": row["clusters"],
                  "risk": row["risk"], "text": _hash(row["text"]),
                  "caption": _hash(row["caption"]), "image": _hash(row["image"]),
                  "raw": _hash(row["raw"])})
    with open(os.path.join(output, "summary.json")) as f:
        summary = _strip(json.load(f))
    return {"records": records, "summary": summary}


def _load(path):
    if os.path.isdir(path):
        return digest(path)
    with open(path) as f:
        return json.load(f)


def _flat(value, prefix=""):
    if isinstance(value, dict) and value:
        return {k: v for key, sub in value.items() for k, v in _flat(sub, f"{prefix}.{key}").items()}
    return {prefix.lstrip("."): value}


def _short(value, width=100):
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[:width] + "..."


def compare(a, b) -> int:
    ra, rb = a["records"], b["records"]
    only_a, only_b = sorted(set(ra) - set(rb)), sorted(set(rb) - set(ra))
    print(f"records: {len(ra)} in A, {len(rb)} in B")
    for name, ids in (("A", only_a), ("B", only_b)):
        if ids:
            print(f"only in {name}: {len(ids)}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    fields = collections.defaultdict(list)
    for key in sorted(set(ra) & set(rb)):
        for field in sorted(set(ra[key]) | set(rb[key])):
            if ra[key].get(field) != rb[key].get(field):
                fields[field].append(key)
    for field, ids in sorted(fields.items()):
        print(f"field {field!r} differs in {len(ids)} records")
        for key in ids[:EXAMPLES]:
            print(f"  {key}:\n    A {_short(ra[key].get(field))}\n    B {_short(rb[key].get(field))}")
    sa, sb = _flat(a["summary"]), _flat(b["summary"])
    changed = sorted(k for k in set(sa) | set(sb) if sa.get(k, "<absent>") != sb.get(k, "<absent>"))
    for key in changed:
        print(f"summary {key}: A {_short(sa.get(key, '<absent>'))} | B {_short(sb.get(key, '<absent>'))}")
    same = not (only_a or only_b or fields or changed)
    print("identical" if same else "DIFFERENT")
    return 0 if same else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs=2, metavar="PATH")
    parser.add_argument("--compare", action="store_true",
                        help="compare two digests (or output directories)")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(_load(args.paths[0]), _load(args.paths[1]))
    with open(args.paths[1], "w") as f:
        json.dump(digest(args.paths[0]), f, sort_keys=True, indent=1, ensure_ascii=False)
        f.write("\n")
    result = _load(args.paths[1])
    print(f"{args.paths[1]}: {len(result['records'])} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
