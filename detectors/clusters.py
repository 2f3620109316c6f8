"""How every stage names a cluster, so the report, the review file and a later run's
decisions find the same cluster:

  exact duplicates      exact-<first 16 hex of the shared text or pixel key>   (content)
  near duplicates       text-|image-|semantic-<digest of the kept record's id>
  caption templates     caption-<digest of the template>                        (content)
  layout templates      template-<digest of the layout's group and rank>
  repeated people       person-<digest of the first face's record id and number>

Content-named clusters are the same in every run. Near-duplicate clusters are named after
the record kept, which the index (--index-out / --index-in) carries into later runs for
text, so tonight's near duplicates of an earlier night's kept text join its cluster.
"""

import json
from typing import Iterable, List, Optional

from detectors.hashing import digest

EXACT, TEXT, IMAGE, SEMANTIC = "exact-", "text-", "image-", "semantic-"


def exact_cluster(key: str) -> str:
    return EXACT + str(key)[:16]


def duplicate_cluster(prefix: str, kept_id: str) -> str:
    return prefix + digest(kept_id.encode("utf-8", "surrogatepass"), 8)


def cluster_of(evidence: str) -> Optional[str]:
    """The cluster a verdict puts its record in (duplicates, templates, a person), or None."""
    detail = json.loads(evidence or "{}")
    for field in ("cluster_id", "identity_id", "template_id"):
        if field in detail:
            return detail[field]
    if "key" in detail and "kept_id" in detail:   # an exact-duplicate group
        return exact_cluster(detail["key"])
    return None


def headed_by(record_id: str, keys: Iterable[Optional[str]]) -> List[str]:
    """The clusters a record would be the kept representative of (it has no verdict in
    them): its exact-duplicate keys and the near-duplicate clusters named after it."""
    return ([exact_cluster(k) for k in keys if k]
            + [duplicate_cluster(prefix, record_id) for prefix in (TEXT, IMAGE, SEMANTIC)])
