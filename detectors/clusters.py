"""How every stage names a cluster, so the report, the review file and a later run's
decisions find the same cluster:

  exact duplicates      exact-<first 16 hex of the shared text or pixel key>   (content)
  near duplicates       text-|image-|semantic-<digest of the kept record's id>
  caption templates     caption-<digest of the template>   (detectors/templates.py, content)
  layout templates      template-<digest of the layout's group and rank>
  repeated people       person-<digest of the first face's record id and number>

Content-named clusters are the same in every run. Near-duplicate clusters are named after
the record kept, which the index (--index-out / --index-in) carries into later runs for
text, so tonight's near duplicates of an earlier night's kept text join its cluster.
A verdict carries its cluster as a typed field (schemas.records.Verdict.cluster).
"""

from typing import Iterable, List, Optional

from detectors.hashing import digest

EXACT, TEXT, IMAGE, SEMANTIC = "exact-", "text-", "image-", "semantic-"


def _named(prefix: str, text: str) -> str:
    return prefix + digest(text.encode("utf-8", "surrogatepass"), 8)


def exact_cluster(key: str) -> str:
    return EXACT + str(key)[:16]


def duplicate_cluster(prefix: str, kept_id: str) -> str:
    return _named(prefix, kept_id)


def layout_cluster(layout_id: str) -> str:
    return _named("template-", layout_id)


def person_cluster(record_id: str, face: int) -> str:
    """Named after the person's first face (record id and face number), not its file
    position: the same records name the same person in another run."""
    return _named("person-", f"{record_id}/{face:03d}")


def headed_by(record_id: str, keys: Iterable[Optional[str]]) -> List[str]:
    """The clusters a record would be the kept representative of (it has no verdict in
    them): its exact-duplicate keys and the near-duplicate clusters named after it."""
    return ([exact_cluster(k) for k in keys if k]
            + [duplicate_cluster(prefix, record_id) for prefix in (TEXT, IMAGE, SEMANTIC)])
