"""Inbound mail for the account e-mails: every ``aws+<account>@<mailDomain>`` lands in one S3 bucket.

aws-organizations-as-code.md: each account needs its own root e-mail, and a mailbox per account is a
chore. SES receives for the whole domain; the MX record points the domain at SES; a receipt rule stores
each message in an encrypted, private bucket. The report activated the rule set with a custom resource
(SES allows one active set, new sets start inactive); ``aws.ses.ActiveReceiptRuleSet`` does it natively.

Use a domain dedicated to account mail (``aws.example.com``): the MX record is never overwritten, so a
domain that already receives mail elsewhere fails loudly instead of losing the company's mail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.organization import MailConfig


@dataclass(frozen=True)
class AccountMailArgs:
    identity: StackIdentity
    domain: str
    config: MailConfig


class AccountMail(pulumi.ComponentResource):
    """SES domain identity, MX and verification records, an active receipt rule set storing mail in S3."""

    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: AccountMailArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:AccountMail", name, None, opts)
        ident, cfg, domain = args.identity, args.config, args.domain
        child = pulumi.ResourceOptions(parent=self)

        identity = aws.ses.DomainIdentity("mail", domain=domain, opts=child)
        verification = aws.route53.Record(
            "mail-verification",
            zone_id=cfg.hosted_zone_id,
            name=f"_amazonses.{domain}",
            type="TXT",
            ttl=600,
            records=[identity.verification_token],
            opts=child,
        )
        verified = aws.ses.DomainIdentityVerification(
            "mail", domain=identity.domain, opts=pulumi.ResourceOptions(parent=self, depends_on=[verification])
        )
        aws.route53.Record(
            "mail-mx",
            zone_id=cfg.hosted_zone_id,
            name=domain,
            type="MX",
            ttl=300,
            records=[f"10 inbound-smtp.{ident.region}.amazonaws.com"],
            allow_overwrite=False,  # an existing MX means the domain's mail goes elsewhere: stop, don't steal it
            opts=child,
        )

        bucket = self._bucket(ident, cfg, child)
        rule_set = aws.ses.ReceiptRuleSet(
            "mail", rule_set_name=ident.name("aws:ses/receiptRuleSet:ReceiptRuleSet", "account-mail"), opts=child
        )
        rule_name = ident.name("aws:ses/receiptRule:ReceiptRule", "store-in-s3")
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        rule_arn = pulumi.Output.all(rule_set.rule_set_name, account_id).apply(
            lambda a: f"arn:aws:ses:{ident.region}:{a[1]}:receipt-rule-set/{a[0]}:receipt-rule/{rule_name}"
        )
        policy = aws.s3.BucketPolicy(
            "mail",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account_id, rule_arn).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "SesStoresAccountMail",
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Resource": f"{a[0]}/*",
                                # Only our receipt rule, in our account, may write (confused-deputy protection).
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": a[1]},
                                    "ArnLike": {"aws:SourceArn": a[2]},
                                },
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        rule = aws.ses.ReceiptRule(
            "store-in-s3",
            name=rule_name,
            rule_set_name=rule_set.rule_set_name,
            recipients=[domain],
            enabled=True,
            scan_enabled=True,
            tls_policy="Require",
            s3_actions=[
                aws.ses.ReceiptRuleS3ActionArgs(bucket_name=bucket.bucket, object_key_prefix="inbound/", position=1)
            ],
            # SES tests the bucket policy when the rule is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, verified]),
        )
        aws.ses.ActiveReceiptRuleSet(
            "mail", rule_set_name=rule_set.rule_set_name, opts=pulumi.ResourceOptions(parent=self, depends_on=[rule])
        )
        self.bucket_name = bucket.bucket
        self.register_outputs({"bucket_name": self.bucket_name})

    @staticmethod
    def _bucket(ident: StackIdentity, cfg: MailConfig, child: pulumi.ResourceOptions) -> aws.s3.Bucket:
        bucket = private_bucket(
            "mail", ident.name("aws:s3/bucket:Bucket", "account-mail"), child.parent, protect=ident.protected
        )
        aws.s3.BucketLifecycleConfiguration(
            "mail",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-mail",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="inbound/"),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=cfg.retention_days),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                ),
            ],
            opts=child,
        )
        return bucket
