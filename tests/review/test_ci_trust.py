"""Every CI job that assumes an AWS role can get it: the subject its OIDC token carries is one the role trusts.

GitHub puts ``repo:<owner>/<repo>:environment:<name>`` in the token of a job that runs in an environment, and
``repo:<owner>/<repo>:pull_request`` or ``repo:<owner>/<repo>:ref:<ref>`` otherwise. The roles are the bootstrap
template's, read from the org stack's snapshot as each account sees it. A job whose subject its role does not
trust fails on its first real run with "Not authorized to perform sts:AssumeRoleWithWebIdentity".
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import stack_config
from tests.cloudformation import AccountView
from tests.review.test_workflows import WORKFLOWS, load

CONFIGURE = "aws-actions/configure-aws-credentials@"
# Which bootstrap role each repository/environment variable holds (docs/day-one.md tells where to set them).
ROLE_VARIABLES = {"AWS_DEPLOY_ROLE_ARN": "DeployRole", "AWS_PREVIEW_ROLE_ARN": "ReadOnlyRole"}
SUB = "token.actions.githubusercontent.com:sub"


@dataclass(frozen=True)
class Assumption:
    where: str  # workflow/job (values)
    subject_suffix: str  # what follows 'repo:<owner>/<repo>:'
    role: str  # the template's logical id
    stack: str  # whose account: the environment's (deploy roles) or the matrix stack's (read-only roles)


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*(?:inputs|matrix)\.(\w+)\s*\}\}", lambda m: values[m.group(1)], text)


def _callers(workflow: str) -> list[dict[str, str]]:
    """The inputs each other workflow passes to a reusable one."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in load(path.name)["jobs"].values():
            if job.get("uses") == f"./.github/workflows/{workflow}":
                found.append({k: str(v) for k, v in (job.get("with") or {}).items()})
    return found


def assumptions() -> Iterator[Assumption]:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        wf = load(path.name)
        triggers = wf["on"] if isinstance(wf["on"], dict) else {t: None for t in wf["on"]}
        for job_id, job in wf["jobs"].items():
            steps = [s for s in job.get("steps", []) if s.get("uses", "").startswith(CONFIGURE)]
            if not steps:
                continue
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            axes = {k: v for k, v in matrix.items() if isinstance(v, list)}
            combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] or [{}]
            if "workflow_call" in triggers:
                combos = [{**c, **caller} for c in combos for caller in _callers(path.name)]
            for values in combos:
                stack = values.get("stack", "")
                environment = job.get("environment")
                if isinstance(environment, dict):
                    environment = environment.get("name")
                if environment:
                    environment = _expand(str(environment), values)
                    subjects = [f"environment:{environment}"]
                    stack = environment  # its AWS_DEPLOY_ROLE_ARN is the role of the account it deploys
                else:
                    subjects = ["pull_request" if t == "pull_request" else "ref:refs/heads/main" for t in triggers]
                for step in steps:
                    expression = step["with"]["role-to-assume"]
                    if "env.ROLE_ARN" in expression:
                        expression = (job.get("env") or {})["ROLE_ARN"]
                    (role,) = {r for variable, r in ROLE_VARIABLES.items() if variable in expression}
                    for subject in sorted(set(subjects) - {"workflow_call"}):
                        yield Assumption(f"{path.name}/{job_id} {values}", subject, role, stack)


def trusted(condition: dict[str, Any], subject: str) -> bool:
    equals = condition.get("StringEquals", {}).get(SUB)
    like = condition.get("StringLike", {}).get(SUB)
    as_list = lambda v: [] if v is None else v if isinstance(v, list) else [v]  # noqa: E731
    return subject in as_list(equals) or any(fnmatch.fnmatchcase(subject, p) for p in as_list(like))


def oidc_statement(role: dict[str, Any]) -> dict[str, Any]:
    """The role's one statement for CI's sign-in (a role may also trust another role, e.g. the read-only role the
    management account's read-only role assumes for pull-request previews of the org stack)."""
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (statement,) = [s for s in statements if s.get("Action") == "sts:AssumeRoleWithWebIdentity"]
    return statement


@pytest.fixture(scope="module")
def roles_by_stack(shipped_preview):
    """For each stack CI deploys, the bootstrap roles its account has, resolved from the org snapshot's template."""
    org = stack_config.load_file("org").organization
    snapshot = shipped_preview("org").snapshot
    template = json.loads(
        shipped_preview("org").one("aws:cloudformation/stackSet:StackSet", "bootstrap")["inputs"]["templateBody"]
    )
    region = org.bootstrap.regions[0]
    accounts = {org.bootstrap.management_environment: snapshot["outputs"]["management_account_id"]}
    for spec in org.accounts:
        if spec.deploy_environment:
            accounts[spec.deploy_environment] = snapshot["outputs"]["accounts"][spec.name]["id"]
    repository = org.bootstrap.github_repository
    return repository, {stack: AccountView(template, acct, region).resources() for stack, acct in accounts.items()}


def test_the_workflows_assume_roles_at_all():
    found = list(assumptions())
    assert {a.role for a in found} == {"DeployRole", "ReadOnlyRole"}
    assert {a.stack for a in found if a.role == "DeployRole"} >= {"dev", "staging", "prod", "org"}


@pytest.mark.parametrize("assumption", list(assumptions()), ids=lambda a: a.where)
def test_every_job_that_assumes_a_role_presents_a_subject_the_role_trusts(assumption, roles_by_stack):
    repository, roles = roles_by_stack
    assert assumption.stack in roles, f"{assumption.where}: no account deploys stack '{assumption.stack}'"
    role = roles[assumption.stack].get(assumption.role)
    assert role is not None, f"{assumption.where}: the '{assumption.stack}' account has no {assumption.role}"
    statement = oidc_statement(role)
    subject = f"repo:{repository}:{assumption.subject_suffix}"
    assert trusted(statement["Condition"], subject), f"{assumption.where}: {subject} is not trusted"


def test_a_deploy_job_of_one_environment_cannot_assume_anothers_role(roles_by_stack):
    """The check can fail: dev's token against prod's role."""
    repository, roles = roles_by_stack
    statement = oidc_statement(roles["prod"]["DeployRole"])
    assert not trusted(statement["Condition"], f"repo:{repository}:environment:dev")
    assert not trusted(statement["Condition"], f"repo:{repository}:ref:refs/heads/main")
    assert trusted(statement["Condition"], f"repo:{repository}:environment:prod")
