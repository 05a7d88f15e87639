"""Find secrets in resource inputs with Yelp's detect-secrets (pinned in requirements.txt), never by a hand list.

"Secrets never in plain config, code or logs" (GUIDE.md) held only by habit until issue 34: a task definition
carrying ``DB_PASSWORD=<a literal>`` in its container environment passed the pack, and checkov raised only an
unrelated finding. A value typed into an input sits in the resource, in the state (unencrypted unless marked
secret), in the console and in the plan comment on the pull request.

One reader of values, shared by the pack's ``no-plaintext-secrets`` policy (rules/secrets.py), the review
comment (review/diff.py) and the SARIF report (preview/sarif.py), so what the pack refuses is exactly what they
redact:

- ``walk`` visits every string of an input tree: nested dicts and lists, JSON inside strings (container
  definitions, IAM and SCP documents, CloudFormation template bodies, Step Functions definitions), YAML documents
  (a template body in YAML, short-form intrinsics included), base64 text
  (a launch template's user data) and each line of multi-line text (user data, scripts, YAML). A subtree Pulumi
  marks secret is skipped: the engine keeps it encrypted in the state and masks it in every output.
- ``findings`` runs detect-secrets' plugins and its own filters over each string, shaped as the line of a config
  file ``<name> = "<value>"`` so the keyword and high-entropy detectors see the name (an environment variable's,
  a tag's key, a parameter's) next to the value, as they would in the file the value was copied from.

A finding names the input path and the detector, never the value. Only ``redact`` ever touches the value, to
replace it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

try:  # inside the pack, whose folder is the import root
    import conventions
except ImportError:  # from the repository (review/, preview/)
    from policies import conventions

# detect-secrets' own plugins (its names), all but IPPublicDetector: a public address is not a secret, and
# every CIDR of a security group or WAF rule would be one. Limits are the library's defaults.
PLUGINS = (
    "AWSKeyDetector",
    "ArtifactoryDetector",
    "AzureStorageKeyDetector",
    "Base64HighEntropyString",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "HexHighEntropyString",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)
# detect-secrets' default filters (its Settings.clear), which keep out UUIDs, sequential strings, ids, templated
# and ${...} values and indirect references; plus its gibberish-free heuristics only. Nothing of ours.
FILTERS = (
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_templated_secret",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
)
# The file names lines are scanned as (detect-secrets picks KeywordDetector's patterns by extension): one value
# is the line `name = "value"` of source code (quotes required: the name must be a secret's, the value quoted);
# a line of multi-line text (user data, a script, YAML) is a config file's, `NAME=value` with or without quotes.
VALUE_AS = "resource-input.py"
TEXT_AS = "resource-input.conf"
# KeywordDetector's own allow rule (its keyword_exclude option): a line whose name says it holds a reference
# (secret_arn, secret_id, password_parameter_name), whose value is an ARN, or that carries a Pulumi type token
# (aws:secretsmanager/secret:Secret, random:index/randomPassword:RandomPassword: a log's or a figure's line) or an
# IAM action of Secrets Manager (secretsmanager:GetSecretValue) names a secret or a kind of one, it is not one.
KEYWORD_EXCLUDE = (
    r"(_arns?|_ids?|_names?)\s*=|=\s*[\"']arn:aws|secretsmanager:|\b[a-z0-9-]+:[a-zA-Z0-9]+/[a-zA-Z0-9]+:[A-Z]"
)
# Pulumi's wire form of a secret (the engine marshals inputs with KeepSecrets) and of an unknown value.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# The offline snapshot's masks for the same (preview/program.py): never a value.
MASKS = frozenset({"[secret]", "[unknown]", UNKNOWN})
# Keys whose sibling names a name/value pair (ECS environment, CloudFormation parameters, tags as lists).
_NAME_KEYS = ("name", "Name", "key", "Key", "ParameterKey", "ParameterName")
_VALUE_KEYS = ("value", "Value", "ParameterValue")
_GENERIC_KEYS = (*_VALUE_KEYS, "Default", "default")
# Inputs that are public by nature, whatever their entropy: what they hold is published or is a name. Our only
# allow rule besides detect-secrets' own filters and keyword_exclude; a value here is never a place for a secret.
PUBLIC_BY_NATURE = {
    "sid": "an IAM statement id: a label in a policy document",
    "thumbprint_list": "an OIDC provider's certificate thumbprints: public fingerprints of a public certificate",
    "metric_name": "a CloudWatch metric or WAF visibility name: shown in every console and dashboard",
    "records": "a DNS record's values: published to the internet by the record itself",
}
# Values that refer, never hold: an ARN (a Secrets Manager secret's included), a load balancer's or target group's
# ARN suffix (`app/<name>/<16 hex>`, `targetgroup/<name>/<16 hex>`: the resource part of its ARN, which CloudWatch
# takes as the LoadBalancer / TargetGroup dimension; its random id scored as high-entropy base64 on generated
# stacks), and a name in the platform's convention {context}-{stage}-{component} (conventions.py; a stack output
# naming the secret it exports).
_REFERENCE = re.compile(
    r"^arn:aws[a-z-]*:\S+$"
    r"|^((app|net|gwy)/[A-Za-z0-9-]+/[0-9a-f]{16}/)?targetgroup/[A-Za-z0-9-]+/[0-9a-f]{16}$"
    r"|^(app|net|gwy)/[A-Za-z0-9-]+/[0-9a-f]{16}$"
    r"|^[a-z][a-z0-9]*-(" + "|".join(conventions.STAGES) + r")(-[a-z0-9]+)+$"
)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\r\n]{24,}={0,2}$")
_lock = threading.Lock()  # detect-secrets' settings and caches are process-global; the pack serves on threads


@dataclasses.dataclass(frozen=True)
class Finding:
    """A detector's hit: where (the input path) and which detector; the value stays out on purpose."""

    path: str
    detector: str
    value: str = dataclasses.field(repr=False, compare=False)  # for redact() only; never printed


def is_secret(value: Any) -> bool:
    """Whether a wire value is Pulumi's secret envelope ``{sig: secret, value: ...}``."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def _decoded_text(value: str) -> str | None:
    """The text a base64 string carries (a launch template's user data), or None when it is not base64 text."""
    if not _BASE64.match(value):
        return None
    try:
        text = base64.b64decode(value, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if text and all(c.isprintable() or c in "\r\n\t" for c in text) else None


class _TemplateLoader(yaml.SafeLoader):
    """YAML as CloudFormation writes it: short-form intrinsics (``!Ref``, ``!Sub``) read as plain values."""


_TemplateLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def _parsed_yaml(value: str) -> Any:
    """A multi-line YAML document (a CloudFormation template body) as data; None for any other text."""
    if "\n" not in value or ":" not in value:
        return None
    try:
        parsed = yaml.load(value, Loader=_TemplateLoader)  # a SafeLoader: tags build plain values, never objects
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _parsed_json(value: str) -> Any:
    stripped = value.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def walk(value: Any, path: str = "", name: str = "") -> Iterator[tuple[str, str, str]]:
    """Every string leaf as ``(path, name, text)``: ``name`` is what the value is called (its key and its
    parent's, or the name of its name/value pair); JSON and base64 text inside strings are walked into; secrets are skipped."""
    if is_secret(value):
        return
    if isinstance(value, dict) and (SIG_KEY in value or set(value) <= {"asset", "archive"}):
        return  # an asset or archive (code, not an input string): in wire form, or as the snapshot records it
    if isinstance(value, dict):
        label = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
        for key, item in value.items():
            if key == SIG_KEY:
                continue
            child = f"{path}.{key}" if path else str(key)
            # The name of its name/value pair (an environment variable's); a generic key with its parent's (a
            # template parameter's `DbPassword.Default`); else the value's own key.
            parent = name.rsplit(".", 1)[-1]
            if label is not None and key in _VALUE_KEYS:
                named = label
            elif parent and key in _GENERIC_KEYS:
                named = f"{parent}.{key}"
            else:
                named = str(key)
            yield from walk(item, child, named)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]", name)
    elif isinstance(value, str) and value not in MASKS:
        inner = _parsed_json(value)
        if inner is None:
            inner = _parsed_yaml(value)
        if isinstance(inner, dict | list):
            yield from walk(inner, path, name)
            return
        decoded = _decoded_text(value) if len(value) >= 24 else None
        if decoded is not None:
            yield from walk(decoded, f"{path}(base64)", name)
            return
        yield path, name, value


def snake(name: str) -> str:
    """``cachePolicyId`` as ``cache_policy_id``: the form detect-secrets' filters read (is_likely_id_string)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").replace(".", "_").lower()


def _lines(name: str, text: str) -> tuple[str, list[tuple[int, str]]]:
    """The file name and lines detect-secrets reads for one value: ``name = "value"``, or each line of text."""
    if "\n" in text:
        return TEXT_AS, [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    quote = "'" if '"' in text else '"'
    return VALUE_AS, [(0, f"{snake(name) or 'value'} = {quote}{text}{quote}")]


@functools.cache
def load() -> Any:
    """detect-secrets' scanner, configured once (imported on first use: ~0.15 s, which a preview that flags
    nothing never pays; the pack calls this at start-up, while the program runs)."""
    from detect_secrets.core import scan
    from detect_secrets.settings import get_settings

    settings = get_settings()
    settings.plugins = {}
    settings.configure_plugins(
        [
            {"name": name, **({"keyword_exclude": KEYWORD_EXCLUDE} if name == "KeywordDetector" else {})}
            for name in PLUGINS
        ]
    )
    settings.configure_filters([{"path": path} for path in FILTERS])
    return scan


@functools.lru_cache(maxsize=1 << 16)
def _detected(name: str, text: str) -> tuple[tuple[str, str, int], ...]:
    """detect-secrets' hits on one named value, remembered: tags and names repeat on every resource."""
    if snake(name.rsplit(".", 1)[-1]) in PUBLIC_BY_NATURE or _REFERENCE.match(text):
        return ()
    filename, lines = _lines(name, text)
    with _lock:
        # The library's own file-scan path (line filters, plugins, then context filters), not its adhoc
        # scan_line: that one searches eagerly for unquoted words, which flags nearly every name.
        hits = list(load()._process_line_based_plugins(lines, filename))
    return tuple((hit.type, str(hit.secret_value or ""), hit.line_number) for hit in hits)


def findings_in_text(name: str, text: str, path: str = "") -> list[Finding]:
    """detect-secrets' verdict on one value called ``name``: one finding per detector that fires."""
    found: dict[str, Finding] = {}
    for detector, value, line in _detected(name, text):
        at = f"{path} (line {line})" if line else path
        found.setdefault(detector, Finding(at, detector, value))
    return list(found.values())


def findings(inputs: Any) -> list[Finding]:
    """Every secret detect-secrets finds in an input tree (a resource's properties in wire form or masked)."""
    return [f for path, name, text in walk(inputs) for f in findings_in_text(name, text, path)]


POLICY = "no-plaintext-secrets"  # the pack's policy that reports these findings (rules/secrets.py)
REDACTED = "[redacted]"


def secret_values(trees: Iterable[Any]) -> set[str]:
    """What ``redact`` hides in these trees: each value a detector flags, and a base64 string carrying one."""
    found: set[str] = set()
    for tree in trees:
        for path, name, text in walk(tree):
            for hit in findings_in_text(name, text, path):
                found.add(hit.value)
                if "(base64)" in path:
                    found.update(_base64_carriers(tree, hit.value))
    return {v for v in found if len(v) >= 4}


def _base64_carriers(tree: Any, value: str) -> Iterator[str]:
    if isinstance(tree, dict):
        for item in tree.values():
            yield from _base64_carriers(item, value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _base64_carriers(item, value)
    elif isinstance(tree, str):
        decoded = _decoded_text(tree) if len(tree) >= 24 else None
        if decoded is not None and value in decoded:
            yield tree
        inner = _parsed_json(tree)
        if inner is not None:
            yield from _base64_carriers(inner, value)


def snapshot_values(snapshot: Mapping[str, Any], violations: Iterable[Any] | None = None) -> set[str]:
    """The values to redact from what is printed about a snapshot: those of the resources ``POLICY`` reported,
    or, without the pack's verdict, of every resource."""
    resources = snapshot.get("resources") or []
    if violations is not None:
        flagged = {v.urn for v in violations if v.policy == POLICY}
        resources = [r for r in resources if r.get("urn") in flagged]
    return secret_values(r.get("inputs") or {} for r in resources)


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of each value (raw or JSON-escaped) replaced by ``[redacted]``."""
    for value in sorted(set(values), key=len, reverse=True):
        for form in {value, json.dumps(value)[1:-1]}:
            text = text.replace(form, REDACTED)
    return text


def redact_tree(tree: Any, values: Iterable[str]) -> Any:
    """A copy of an input tree with every string ``redact``ed."""
    values = set(values)
    if not values:
        return tree
    if isinstance(tree, dict):
        return {k: redact_tree(v, values) for k, v in tree.items()}
    if isinstance(tree, list):
        return [redact_tree(v, values) for v in tree]
    return redact(tree, values) if isinstance(tree, str) else tree
