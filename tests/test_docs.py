"""The README documents what the code does: every reason, every policy key and default."""

import re

import yaml

from pipeline.policy import Policy, load_policy
from schemas.reasons import Reason
from tests.jobs import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_policy_block_is_the_default_policy():
    block = re.search(r"```yaml\n(.*?)```", README, re.S).group(1)
    documented = yaml.safe_load(block)
    assert documented == yaml.safe_load(yaml.safe_dump(Policy().to_dict()))


def test_readme_lists_every_reason():
    for reason in Reason:
        assert f"| `{reason.value}` |" in README, reason


def test_bundled_sample_policy_loads():
    policy = load_policy(str(ROOT / "sample" / "policy.yaml"))
    assert policy.input.max_text_chars == 20000


def test_readme_lists_every_exit_status():
    from pipeline.exits import table
    assert table() in README
