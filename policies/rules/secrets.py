"""No secret in plain sight (issue 34): every string input of every resource is read by detect-secrets.

Tried as a reviewer would, a prod task definition whose container environment carried ``DB_PASSWORD=<a literal>``
passed the pack, and checkov raised only an unrelated finding. The same literal would have passed in a Lambda
environment, an SSM ``String`` parameter, EC2 user data, a tag, a CloudFormation template body or a Step Functions
definition, and once applied it sits in the resource, in the state, in the console and in the plan comment.

``secret_scan`` walks every input (JSON and base64 text inside strings included) with detect-secrets' plugins and
filters. A finding names the resource, the input path and the detector, never the value. Inputs Pulumi carries as
secrets pass: they are read in the engine's wire form (``wire_inputs``), where the secret envelope survives.
"""

from __future__ import annotations

from collections import defaultdict

import secret_scan
import wire_inputs
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity
from rules.docs import url

secret_scan.load()  # at the pack's start-up, which the offline preview overlaps with running the program

FIX = (
    "keep the value in Secrets Manager (or an SSM SecureString parameter) and pass its ARN (ECS secrets valueFrom, "
    "a Lambda reads it at start, CloudFormation {{resolve:secretsmanager:...}}); a value from stack config is set "
    "with `pulumi config set --secret <key>` and read with config.require_secret, which Pulumi keeps encrypted"
)


def _no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # The wire form when served over gRPC (secrets still marked); the unwrapped props otherwise, which is stricter.
    raw = wire_inputs.inputs(args.urn)
    by_path: dict[str, list[str]] = defaultdict(list)
    for finding in secret_scan.findings(raw if raw is not None else dict(args.props)):
        by_path[finding.path].append(finding.detector)
    for path, detectors in by_path.items():
        report(
            f"'{args.name}' input {path}: detect-secrets' {', '.join(sorted(detectors))} found a plaintext secret "
            f"(the value is not shown); {FIX}",
            None,
        )


no_plaintext_secrets = ResourceValidationPolicy(
    name=secret_scan.POLICY,
    description=(
        "No resource input carries a plaintext secret (a password, key, token, private key or connection string "
        "with a password): detect-secrets reads every string input, JSON and user data included. Applied, a "
        "literal sits in the resource, the state, the console and the plan comment (issue 34)."
    ),
    validate=_no_plaintext_secrets,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Keep the value in Secrets Manager or an SSM SecureString parameter and pass its ARN; set a configured "
        "value with `pulumi config set --secret <key>` and read it with config.require_secret."
    ),
    url=url("no-plaintext-secrets"),
)
