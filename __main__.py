"""The platform, one stack at a time: config in, components wired, outputs exported."""
import pulumi

import stack_config
from components.network import Network, NetworkArgs
from foundation.providers import create_providers

# Config first: a bad value stops here with every problem listed, before anything is registered.
try:
    config = stack_config.load(pulumi.get_stack(), stack_config.engine_values())
except stack_config.ConfigError as err:
    raise pulumi.RunError(str(err)) from None
identity = config.identity
providers = create_providers(identity, config.account_id)

network = Network("network", NetworkArgs(identity=identity, config=config.network),
                  opts=providers.regional_opts())

pulumi.export("stage", identity.stage)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("public_subnet_ids", network.public_subnet_ids)
