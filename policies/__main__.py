"""The platform's CrossGuard pack: conventions and the operational lessons of ../shared/seeds.

Self-contained for ``pulumi policy publish``: it imports only the standard
library, pulumi-policy, and the files in this folder.
"""
from pulumi_policy import EnforcementLevel, PolicyPack

from rules.naming import naming_convention
from rules.tagging import required_tags

POLICIES = [
    required_tags,
    naming_convention,
]

PolicyPack(
    name="aws-platform",
    # Mandatory unless a stack's policies/config/<stack>.json relaxes a policy (dev is advisory for most).
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
