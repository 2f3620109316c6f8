"""The policy (defaults < YAML file < flags) and the command-line options that feed it."""

import json
import pathlib

import pytest
import yaml

from pipeline.options import POLICY_FLAGS, HygieneOptions, help_parser
from pipeline.policy import PolicyError, load_policy, policy_yaml
from schemas import settings
from schemas.settings import (DEFAULT_ACCEPTED_MODES, DEFAULT_MAX_PIXELS, INPUT_FORMATS,
                              ExactDedupSettings, InputSettings, Policy)

REPO = pathlib.Path(__file__).resolve().parent.parent


def write(tmp_path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- defaults and the YAML file

def test_defaults():
    policy = load_policy()
    assert policy == Policy()
    assert policy.input == InputSettings(format="auto")
    assert policy.input.max_image_pixels == DEFAULT_MAX_PIXELS
    assert policy.input.accepted_image_modes == DEFAULT_ACCEPTED_MODES
    assert policy.exact_dedup == ExactDedupSettings(text=True, images=True)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"])
def test_empty_file_is_the_defaults(tmp_path, text):
    assert load_policy(write(tmp_path, text)) == Policy()


def test_yaml_file_sets_every_kind_of_value(tmp_path):
    path = write(tmp_path, """
input:
  format: jsonl
  text_field: body
  id_field: doc_id
  image_field: pixels
  file_field: [img, path]
  max_text_chars: 500
  max_caption_chars: "80"
  accepted_image_modes: [RGB, L]
exact_dedup:
  text: off
  images: "yes"
""")
    policy = load_policy(path)
    assert policy.input.format == "jsonl"
    assert policy.input == InputSettings(
        format="jsonl", text_field="body", id_field="doc_id", image_field="pixels",
        file_field=("img", "path"), max_text_chars=500, max_caption_chars=80,
        accepted_image_modes=("RGB", "L"))
    assert policy.exact_dedup == ExactDedupSettings(text=False, images=True)


def test_single_string_for_a_tuple_setting_is_a_one_element_tuple(tmp_path):
    policy = load_policy(write(tmp_path, "input:\n  file_field: name\n"))
    assert policy.input.file_field == ("name",)


def test_the_bundled_sample_policy_loads():
    policy = load_policy(str(REPO / "sample" / "policy.yaml"))
    assert policy.input.max_text_chars == 20000
    assert policy.input.max_image_pixels == 50_000_000
    assert policy.exact_dedup == ExactDedupSettings(True, True)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("text, message", [
    ("watermarks:\n  threshold: 1\n", "unknown policy section 'watermarks'"),
    ("pii:\n  entities: {EMAIL_ADDRESS: blur}\n", "pii.entities: cannot use"),
    ("pii:\n  score_threshold: 1.5\n", "pii.score_threshold: cannot use"),
    ("pii:\n  chunk_chars: 5000000\n", "pii.chunk_chars: cannot use 5000000: must be >= 1000, <= 1000000"),
    ("pii:\n  chunk_overlap: 10000\n", "pii: chunk_overlap must be under half of chunk_chars"),
    ("input:\n  formatt: jsonl\n", "unknown key input.formatt"),
    ("exact_dedup:\n  fuzzy: true\n", "unknown key exact_dedup.fuzzy"),
    ("input:\n  format: csv\n", "input.format: cannot use 'csv': must be one of auto | jsonl"),
    ("input:\n  max_text_chars: many\n", "input.max_text_chars: cannot use 'many'"),
    ("input:\n  max_text_chars: 0\n", "input.max_text_chars: cannot use 0: must be >= 1"),
    ("input:\n  max_caption_chars: -5\n", "input.max_caption_chars: cannot use -5"),
    ("layouts:\n  side: 30\n", "layouts: side must be a multiple of 4"),
    ("near_dedup_text:\n  bands: 4\n", "near_dedup_text: give both bands and rows"),
    ("faces:\n  model: mtcnn\n", "faces.model: cannot use 'mtcnn': must be one of centerface | hog | cnn"),
    ("input:\n  max_image_pixels: null\n", "input.max_image_pixels: cannot use None"),
    ("exact_dedup:\n  text: maybe\n", "exact_dedup.text: cannot use 'maybe'"),
    ("exact_dedup:\n  images: 2\n", "exact_dedup.images: cannot use 2"),
    ("input: [jsonl]\n", "policy section 'input' must be a mapping"),
    ("- input\n", "the policy must be a mapping of sections"),
    ("input: {format: jsonl\n", "not valid YAML"),
])
def test_bad_policy_file_is_a_policy_error(tmp_path, text, message):
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, text))
    assert message in str(caught.value)


def test_unknown_key_error_lists_the_known_keys(tmp_path):
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, "input:\n  txt_field: t\n"))
    assert "text_field" in str(caught.value) and "max_text_chars" in str(caught.value)


def test_missing_file_is_a_policy_error(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(missing)


def test_policy_error_is_a_value_error():
    assert issubclass(PolicyError, ValueError)


@pytest.mark.parametrize("overrides, message", [
    ({"watermarks": {"x": 1}}, "unknown policy section 'watermarks'"),
    ({"pii": {"x": 1}}, "unknown key pii.x"),
    ({"pii": {"entities": {"email": "redact"}}}, "pii.entities: cannot use"),
    ({"pii": {"max_spans": 0}}, "pii.max_spans: cannot use 0: must be >= 1"),
    ({"input": {"colour": "red"}}, "unknown key input.colour"),
    ({"input": {"format": "tsv"}}, "input.format: cannot use 'tsv': must be one of"),
    ({"input": {"max_image_pixels": -1}}, "input.max_image_pixels: cannot use -1: must be >= 1"),
])
def test_bad_override_is_a_policy_error(overrides, message):
    with pytest.raises(PolicyError) as caught:
        load_policy(overrides=overrides)
    assert message in str(caught.value)


@pytest.mark.parametrize("value", ["2.5", "true"])
def test_non_integer_limit_is_a_policy_error(tmp_path, value):
    with pytest.raises(PolicyError):
        load_policy(write(tmp_path, f"input:\n  max_caption_chars: {value}\n"))


@pytest.mark.parametrize("key", ["text_field", "caption_field"])
def test_null_field_name_is_a_policy_error(tmp_path, key):
    with pytest.raises(PolicyError):
        load_policy(write(tmp_path, f"input:\n  {key}: ~\n"))


# ---------------------------------------------------------------- precedence and round trip

def test_overrides_win_over_the_file_which_wins_over_defaults(tmp_path):
    path = write(tmp_path, """
input:
  format: parquet
  max_text_chars: 100
  text_field: body
exact_dedup:
  text: false
""")
    policy = load_policy(path, overrides={
        "input": {"max_text_chars": 7, "text_field": None, "caption_field": "alt"},
        "exact_dedup": {"images": False},
    })
    assert policy.input.max_text_chars == 7          # override beats file
    assert policy.input.text_field == "body"         # None override: the file stays
    assert policy.input.caption_field == "alt"       # override beats default
    assert policy.input.format == "parquet"          # file beats default
    assert policy.input.max_caption_chars == 10_000  # default
    assert policy.exact_dedup == ExactDedupSettings(text=False, images=False)


def test_overrides_without_a_file():
    policy = load_policy(overrides={"input": {"format": "webdataset"}, "exact_dedup": {}})
    assert policy.input.format == "webdataset"
    assert policy.exact_dedup == ExactDedupSettings()


def test_load_policy_does_not_modify_the_overrides():
    overrides = {"input": {"max_text_chars": 5, "text_field": None}}
    load_policy(overrides=overrides)
    assert overrides == {"input": {"max_text_chars": 5, "text_field": None}}


def test_to_dict_is_the_flat_yaml_layout():
    flat = Policy().to_dict()
    assert set(flat) == {"input", "exact_dedup", "near_dedup_text", "repeated_spans",
                         "near_dedup_images", "pii", "ocr",
                         "faces", "image_metadata", "identities", "templates", "layouts",
                         "clip", "report"}
    assert flat["image_metadata"] == {"keep": ["icc"]}
    assert flat["pii"]["entities"]["US_SSN"] == "quarantine"
    assert flat["pii"]["entities"]["URL"] == "ignore"
    assert flat["near_dedup_text"]["threshold"] == 0.8
    assert flat["exact_dedup"] == {"text": True, "images": True}
    assert flat["input"]["format"] == "auto"
    assert flat["input"]["text_field"] == "text"
    assert flat["input"]["max_image_pixels"] == DEFAULT_MAX_PIXELS
    assert flat["input"]["image_field"] is None


def _custom_policy():
    return load_policy(overrides={
        "input": {"format": "image-folder", "text_field": "body", "image_field": "png",
                  "file_field": ["img", "path"], "max_caption_chars": 99,
                  "accepted_image_modes": ["RGB"]},
        "exact_dedup": {"images": False},
    })


@pytest.mark.parametrize("policy", [Policy(), "custom"])
def test_to_dict_round_trips_through_overrides(policy):
    policy = _custom_policy() if policy == "custom" else policy
    assert load_policy(overrides=policy.to_dict()) == policy


@pytest.mark.parametrize("policy", [Policy(), "custom"])
def test_to_dict_round_trips_through_a_yaml_file(tmp_path, policy):
    """The manifest records to_dict() as JSON; that, as a YAML file, is the same policy."""
    policy = _custom_policy() if policy == "custom" else policy
    as_json = json.loads(json.dumps(policy.to_dict()))
    assert load_policy(write(tmp_path, yaml.safe_dump(as_json))) == policy


# ---------------------------------------------------------------- command-line options

def test_no_flags_no_overrides():
    assert HygieneOptions([]).policy_overrides() == {}


def test_flags_become_overrides_by_section():
    options = HygieneOptions([
        "--input", "a.jsonl", "b/*.tar", "--output", "out/", "--config", "p.yaml",
        "--input-format", "parquet", "--text-field", "body", "--id-field", "uid",
        "--caption-field", "alt", "--image-field", "png", "--image-id-field", "k",
        "--max-text-chars", "5", "--max-caption-chars", "6", "--max-image-pixels", "7",
        "--no-exact-dedup-text", "--exact-dedup-images",
        "--runner", "DirectRunner",
    ])
    assert options.policy_overrides() == {
        "input": {"format": "parquet", "text_field": "body", "id_field": "uid",
                  "caption_field": "alt", "image_field": "png", "image_id_field": "k",
                  "max_text_chars": 5, "max_caption_chars": 6, "max_image_pixels": 7},
        "exact_dedup": {"text": False, "images": True},
    }
    values = options.get_all_options()
    assert values["input"] == ["a.jsonl", "b/*.tar"]
    assert values["config"] == "p.yaml"
    assert values["runner"] == "DirectRunner"


def test_every_policy_flag_names_a_real_policy_key():
    flat = Policy().to_dict()
    for dest, (section, key) in POLICY_FLAGS.items():
        assert key in flat[section], dest


def test_flags_override_the_config_file(tmp_path):
    path = write(tmp_path, "input:\n  max_text_chars: 100\n  text_field: body\n"
                           "exact_dedup:\n  images: false\n")
    options = HygieneOptions(["--config", path, "--max-text-chars", "5",
                              "--exact-dedup-images"])
    policy = load_policy(options.get_all_options()["config"], options.policy_overrides())
    assert policy.input.max_text_chars == 5
    assert policy.input.text_field == "body"
    assert policy.exact_dedup.images is True


def test_flag_values_are_checked_by_the_policy():
    options = HygieneOptions(["--max-image-pixels", "0"])
    with pytest.raises(PolicyError, match="input.max_image_pixels: cannot use 0: must be >= 1"):
        load_policy(overrides=options.policy_overrides())


def test_input_format_choices_are_the_policy_formats():
    assert set(INPUT_FORMATS) == {"jsonl", "parquet", "webdataset", "image-folder"}
    with pytest.raises(SystemExit):
        HygieneOptions(["--input-format", "csv"]).get_all_options()
    assert HygieneOptions(["--input-format", "image-folder"]).policy_overrides() == {
        "input": {"format": "image-folder"}}


def test_pii_entities_merge_over_the_defaults(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("pii:\n  entities:\n    URL: redact\n    EMAIL_ADDRESS: quarantine\n")
    actions = load_policy(str(path)).pii.actions()
    assert actions["URL"] == "redact" and actions["EMAIL_ADDRESS"] == "quarantine"
    assert actions["US_SSN"] == "quarantine" and actions["PERSON"] == "redact"  # untouched


def test_pii_action_flags_go_on_top_of_the_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("pii:\n  entities:\n    EMAIL_ADDRESS: quarantine\n")
    options = HygieneOptions(["--pii-action", "URL=redact", "--pii-action", "person=IGNORE",
                              "--pii-allow", "help@example.com"])
    policy = load_policy(str(path), options.policy_overrides()).pii
    assert policy.actions()["EMAIL_ADDRESS"] == "quarantine"  # from the file
    assert policy.actions()["URL"] == "redact" and policy.actions()["PERSON"] == "ignore"
    assert policy.allow_list == ("help@example.com",)


def test_ignored_entities_are_not_scanned_for():
    policy = load_policy(overrides={"pii": {"entities": {"PERSON": "ignore"}}}).pii
    scanned = policy.scanned_entities()
    assert "PERSON" not in scanned and "URL" not in scanned
    assert "EMAIL_ADDRESS" in scanned
    assert "URL" in policy.scanned_entities(all_entities=True)


def test_name_cues_can_be_turned_off():
    policy = load_policy(overrides={"pii": {"name_cues": "false"}}).pii
    assert policy.name_cues is False
    assert Policy().pii.name_cues is True


def test_near_dedup_images_settings_are_checked():
    assert Policy().near_dedup_images.max_distance == 8
    assert load_policy(overrides={"near_dedup_images": {"enabled": False}}
                       ).near_dedup_images.enabled is False
    with pytest.raises(PolicyError, match="max_distance"):
        load_policy(overrides={"near_dedup_images": {"max_distance": 40}})


# ---------------------------------------------------------------- one declaration per setting

def test_every_setting_is_declared_with_help():
    for name, section in Policy().sections():
        assert settings.title(section), name
        for field in settings.fields(section):
            assert settings.declaration(field).help, f"{name}.{field.name}"


def test_the_readme_policy_block_is_the_declaration():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- policy-yaml: python -m pipeline.policy -->\n```yaml\n", 1)[1]
    assert block.split("```", 1)[0] == policy_yaml()


def test_the_readme_policy_block_loads_as_the_defaults(tmp_path):
    assert load_policy(write(tmp_path, policy_yaml())) == Policy()


def test_every_flag_is_in_help_with_its_default():
    text = help_parser("hygiene").format_help()
    for name, section in Policy().sections():
        assert settings.title(section) in text
        for field in settings.fields(section):
            flag = settings.declaration(field).flag
            if flag:
                option = help_parser("hygiene")._option_string_actions[flag]
                assert "(default: " in option.help, flag
    assert "--face-detect-side PX" in text and "(default: 1200; >= 64, <= 8192)" in text


@pytest.mark.parametrize("flag, value, section, key, expected", [
    ("--face-detect-side", "800", "faces", "detect_side", 800),
    ("--face-model", "hog", "faces", "model", "hog"),
    ("--face-centerface-side", "640", "faces", "centerface_side", 640),
    ("--face-device", "gpu", "faces", "device", "gpu"),
    ("--minhash-threshold", "0.7", "near_dedup_text", "threshold", 0.7),
    ("--phash-orientations", "8", "near_dedup_images", "orientations", 8),
    ("--face-action", "keep", "faces", "action", "keep"),
    ("--no-layouts", None, "layouts", "enabled", False),
    ("--pii-allow", "a@b.org", "pii", "allow_list", ("a@b.org",)),
])
def test_a_flag_reaches_its_setting(flag, value, section, key, expected):
    options = HygieneOptions([flag] + ([value] if value is not None else []))
    policy = load_policy(overrides=options.policy_overrides())
    assert getattr(getattr(policy, section), key) == expected
