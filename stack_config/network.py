"""The ``network`` section: a VPC this stack builds, or an existing one it imports."""

from __future__ import annotations

from dataclasses import dataclass

from stack_config.parsing import setting

SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
VPC_ID = r"vpc-[0-9a-f]{8,17}"


@dataclass(frozen=True)
class NetworkConfig:
    cidr: str = setting("10.0.0.0/16", cidr=True, doc="room for 2 x azCount subnets of /20")
    az_count: int = setting(2, min=2, max=6, doc="two AZs at least: one AZ outage must not take the stack down")
    nat_gateway_per_az: bool = setting(True, doc="one NAT per AZ keeps private subnets up when an AZ fails")
    interface_endpoints: bool = setting(
        False,
        doc="ECR api/dkr, Logs and Secrets Manager endpoints: AWS traffic off the NAT; about $8/month each per AZ",
    )
    vpc_id: str | None = setting(
        None,
        pattern=VPC_ID,
        what="a VPC id like 'vpc-0abc12345def67890'",
        doc="set to import an existing VPC instead of building one",
    )
    public_subnet_ids: list[str] = setting(default_factory=list, each={"pattern": SUBNET_ID, "what": "a subnet id"})
    private_subnet_ids: list[str] = setting(default_factory=list, each={"pattern": SUBNET_ID, "what": "a subnet id"})

    @property
    def imported(self) -> bool:
        return self.vpc_id is not None
