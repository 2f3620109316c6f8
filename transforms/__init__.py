"""Beam PTransforms and DoFns, one folder per stage:

    io/         read the corpus (sources/: Beam-free parsers), input checks, unique ids, index,
                Parquet outputs
    dedup/      exact, near-duplicate text, near-duplicate images, semantic (CLIP)
    pii.py      personal data and secrets in texts and captions
    people/     faces, repeated identities
    templates/  caption templates, layout templates
    decide/     verdicts merged per record into cleaned or quarantined rows
    report/     summary.json, report/index.html, manifest.json
    common/     building blocks the stages share (bucket pairs, components, faults)

Transforms only wire, batch and key; the logic they call lives in detectors/ and
transforms/io/sources/ (Beam-free)."""
