"""The simulation's evidence is the stacks' own documents: extracted from snapshots, the bootstrap rendered per
account as CloudFormation would, and the referenced stacks' documents recorded from their previews."""

from __future__ import annotations

import json

from access import documents
from tools.record_stack_references import referenced_in_order

OIDC = "arn:aws:iam::190910285287:oidc-provider/token.actions.githubusercontent.com"


def test_the_recorded_documents_are_what_the_referenced_stacks_hold(shipped_preview):
    """access/recorded_documents.json is generated (`make stack-references`): a stale file fails here."""
    recorded = documents.recorded()
    assert sorted(recorded) == sorted(referenced_in_order())
    for reference, extracted in recorded.items():
        stack = reference.rsplit("/", 1)[-1]
        assert extracted == documents.extract(shipped_preview(stack).snapshot), (
            f"{reference}: run `make stack-references`"
        )


def test_each_account_gets_the_deploy_role_of_its_own_environment(shipped_preview):
    template = documents.extract(shipped_preview("org").snapshot)["bootstrap"]
    prod = documents.bootstrap_roles(template, "190910285287", "eu-west-1")
    deploy = prod["arn:aws:iam::190910285287:role/org-prod-pulumi-deploy"]
    (trust,) = deploy["trust"]["Statement"]
    assert trust["Principal"] == {"Federated": OIDC}
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/aws-platform:environment:prod"
    )
    sids = [s.get("Sid") for s in deploy["boundary"]["Statement"]]
    assert "NoOrganizationChanges" in sids and "" not in sids
    management = documents.bootstrap_roles(template, "111122223333", "eu-west-1")
    boundary = management["arn:aws:iam::111122223333:role/org-prod-pulumi-deploy"]["boundary"]
    # Fn::If with AWS::NoValue: the org stack's own deployer may change the organization, and nothing is left empty.
    assert "NoOrganizationChanges" not in [s.get("Sid") for s in boundary["Statement"]]
    assert all(isinstance(s, dict) for s in boundary["Statement"])


def test_an_account_without_a_deploy_environment_gets_no_deploy_role(shipped_preview):
    template = documents.extract(shipped_preview("org").snapshot)["bootstrap"]
    audit = documents.bootstrap_roles(template, "653158449115", "eu-west-1")
    assert sorted(arn.rsplit("/", 1)[-1] for arn in audit) == ["org-prod-pulumi-read-only"]


def test_function_permissions_become_the_function_policy_lambda_would_show(shipped_preview):
    extracted = documents.extract(shipped_preview("prod").snapshot)
    (arn,) = [a for a in extracted["resourcePolicies"] if a.endswith(":function:shop-prod-prerender")]
    principals = sorted(json.dumps(s["Principal"]) for s in extracted["resourcePolicies"][arn]["policy"]["Statement"])
    assert '{"Service": "cloudfront.amazonaws.com"}' in principals


def test_a_key_without_a_policy_gets_kms_default_key_policy(shipped_preview):
    extracted = documents.extract(shipped_preview("prod").snapshot)
    (key,) = [a for a in extracted["resourcePolicies"] if a.endswith(":key/documentdb")]
    assert extracted["resourcePolicies"][key]["policy"] == documents.default_key_policy("190910285287")
