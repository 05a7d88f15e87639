"""Use a role created in the same deployment only once IAM has made it, and its policies, usable.

IAM is eventually consistent: AWS documents that a new role or policy can take a few seconds to be
visible everywhere ("Changes that I make are not always immediately visible", IAM troubleshooting), and
an AssumeRole or a call with the new permissions fails with AccessDenied until then. A provider that
assumes a role this same ``up`` creates (the image push provider) would then fail on a first deploy and
pass on the second: the ordering only a second ``up`` gets right. So the role's ARN is handed on only
after its policies exist and a deliberate pause has passed, once per change of the role or its policies.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_command as command

# Long enough for IAM's usual propagation (seconds), short enough not to matter in a deployment of minutes.
PROPAGATION_SECONDS = 15


def usable_role_arn(
    name: str, role: aws.iam.Role, policies: Sequence[aws.iam.RolePolicy], parent: pulumi.Resource
) -> pulumi.Output[str]:
    """``role``'s ARN, resolved only after ``policies`` exist and IAM has had time to propagate them."""
    wait = command.local.Command(
        f"{name}-iam-propagation",
        create=f"sleep {PROPAGATION_SECONDS}",
        # A new role or a changed policy waits again; an unchanged one never does.
        triggers=[role.arn, *[p.policy for p in policies]],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role, *policies]),
    )
    return pulumi.Output.all(role.arn, wait.id).apply(lambda parts: parts[0])
