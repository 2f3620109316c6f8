"""Templated mockups: caption templates and layout clusters on a labelled set the project renders.

    .venv/bin/python -m evaluation.templates [--designs 20]

The set (evaluation/template_corpus.py): 5 templates x --designs designs, each a
public-domain photo with a product area and a caption "<design> <product>"; the astronaut
tee carries a real person's face in its fixed area; the pillow is a plain white canvas
(no layout template expected, its caption is still a template); negatives: the product
photos of ../shared/eval-data/products (or scikit-image photos). The whole job runs on
the DirectRunner (faces and templates on, dedup and PII off), and the outputs are read:

  layout recall     template members flagged template_face or template_cluster
  layout precision  flagged records that belong to an expected layout template
  false merges      pairs of records in one found cluster that belong to different
                    templates (or a negative), over all pairs in found clusters
  caption recall    members of every template whose caption template is "<*> <product>"
  face templates    whether every member of a face-bearing template is template_face
"""

import argparse
import itertools
import json
import pathlib
import tempfile
import time

from detectors.layout import estimate, thumbnail
from schemas.settings import LayoutSettings
from evaluation.template_corpus import TEMPLATES, mockups, negatives
from pipeline.launch import run
from evaluation.scores import record


def write_shard(path: pathlib.Path, rows) -> None:
    import io
    import tarfile
    with tarfile.open(path, "w") as tar:
        for key, data, caption, _ in rows:
            for name, payload in ((f"{key}.jpg", data), (f"{key}.txt", caption.encode())):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))


def findings(output: pathlib.Path):
    """{record id: {reason: evidence}} over cleaned flags and quarantine evidence."""
    import pyarrow.dataset as ds
    found = {}
    for folder, column in (("cleaned/image_text", "flags"), ("quarantine", "evidence")):
        path = output / folder
        if not path.exists():
            continue
        for row in ds.dataset(str(path), format="parquet").to_table().to_pylist():
            found[row["id"]] = {e["reason"]: json.loads(e["detail"]) for e in row[column]}
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--designs", type=int, default=20)
    args = parser.parse_args(argv)
    rows = mockups(designs=args.designs) + negatives()
    truth = {key: template for key, _, _, template in rows}
    expect = {t.name: t.expect for t in TEMPLATES}
    product = {t.name: "<*> " + t.product.lower() for t in TEMPLATES}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write_shard(tmp / "shop.tar", rows)
        started = time.perf_counter()
        run(["--input", str(tmp / "shop.tar"), "--output", str(tmp / "out"), "--no-pii",
             "--no-exact-dedup-images", "--no-near-dedup-images", "--no-identities"])
        seconds = time.perf_counter() - started
        found = findings(tmp / "out")
    layout_reasons = ("template_face", "template_cluster")
    flagged = {k: next(f[r] for r in layout_reasons if r in f) | {"reason": next(
        r for r in layout_reasons if r in f)} for k, f in found.items()
        if any(r in f for r in layout_reasons)}
    positives = {k for k, t in truth.items() if t and expect[t]}
    hit = positives & set(flagged)
    clusters = {}
    for key, evidence in flagged.items():
        clusters.setdefault(evidence["cluster_id"], []).append(key)
    pairs = wrong = 0
    for members in clusters.values():
        for a, b in itertools.combinations(members, 2):
            pairs += 1
            wrong += truth[a] != truth[b] or truth[a] is None
    members = [k for k, t in truth.items() if t]
    caption_hit = [k for k in members
                   if found.get(k, {}).get("caption_template", {}).get("template") == product[truth[k]]]
    print(f"Templated mockups: {len(positives)} members of {sum(1 for t in TEMPLATES if t.expect)} "
          f"layout templates, {len(members) - len(positives)} of a plain-background template, "
          f"{sum(1 for t in truth.values() if t is None)} negatives; job {seconds:.1f} s\n")
    print("| template | expected | members | flagged | as | clusters | caption template found "
          "| fixed area, information (detector) |")
    print("|---|---|---|---|---|---|---|---|")
    settings = LayoutSettings()
    for template in TEMPLATES:
        keys = [k for k, t in truth.items() if t == template.name]
        layouts = estimate([thumbnail(data, settings.side)[0] for key, data, _, t in rows
                            if t == template.name][:settings.max_sample], settings, template.name)
        shape = ", ".join(f"{l.fixed_fraction:.2f}, {l.information:.3f}" for l in layouts) or "-"
        got = [k for k in keys if k in flagged]
        kinds = sorted({flagged[k]["reason"] for k in got})
        ids = {flagged[k]["cluster_id"] for k in got}
        captions = sum(k in caption_hit for k in keys)
        print(f"| {template.name} | {template.expect or 'none'} | {len(keys)} | {len(got)} | "
              f"{', '.join(kinds) or '-'} | {len(ids)} | {captions}/{len(keys)} | {shape} |")
    negatives_flagged = [k for k, t in truth.items() if t is None and k in flagged]
    precision = len(hit) / len(flagged) if flagged else 1.0
    recall = len(hit) / len(positives) if positives else 1.0
    record("layout templates", "rendered mockups + products", precision, recall,
           f"{len(positives)} members, {len(truth) - len(positives)} others")
    record("caption templates", "rendered mockups", None, len(caption_hit) / len(members),
           f"{len(members)} members")
    print(f"\nlayout template recall {recall:.3f} (target 0.95), precision {precision:.3f}; "
          f"negatives flagged: {len(negatives_flagged)}")
    print(f"false merges: {wrong}/{pairs} pairs in found clusters "
          f"({wrong / pairs if pairs else 0:.4f}, target <= 0.01)")
    print(f"caption template recall: {len(caption_hit)}/{len(members)} "
          f"({len(caption_hit) / len(members):.3f})")
    faces = [t.name for t in TEMPLATES if t.expect == "template_face"]
    for name in faces:
        keys = [k for k, t in truth.items() if t == name]
        ok = all(flagged.get(k, {}).get("reason") == "template_face" for k in keys)
        print(f"face-bearing template {name!r} flagged template_face on every member: {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
