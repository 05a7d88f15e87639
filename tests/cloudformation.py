"""Just enough of CloudFormation to read a template as one account sees it: conditions, Fn::If, Ref AWS::NoValue.

The bootstrap's template is one document for every account; what a given account gets (which roles, which
trust) follows from conditions on ``AWS::AccountId`` and ``AWS::Region``. Tests ask for that account's view
instead of restating the template.
"""

from __future__ import annotations

import re
from typing import Any

NO_VALUE = object()


class AccountView:
    def __init__(self, template: dict[str, Any], account_id: str, region: str):
        self.template = template
        self.pseudo = {"AWS::AccountId": account_id, "AWS::Region": region, "AWS::Partition": "aws"}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template.get("Conditions", {})[name])
        return self._conditions[name]

    def _truth(self, expr: Any) -> bool:
        (fn, args), *_ = expr.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            return left == right
        if fn == "Fn::Or":
            return any(self._truth(a) for a in args)
        if fn == "Fn::And":
            return all(self._truth(a) for a in args)
        if fn == "Fn::Not":
            return not self._truth(args[0])
        raise ValueError(f"condition function {fn} not understood")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return self.resolve(then if self.condition(name) else otherwise)
        if set(value) == {"Ref"} and value["Ref"] == "AWS::NoValue":
            return NO_VALUE
        if set(value) == {"Ref"} and value["Ref"] in self.pseudo:
            return self.pseudo[value["Ref"]]
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: self._sub(m.group(1)), value["Fn::Sub"])
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, name: str) -> str:
        """``${Name}`` in an Fn::Sub: a pseudo parameter, or a bucket's Ref (its name); others stay as written."""
        if name in self.pseudo:
            return self.pseudo[name]
        bucket = self.template["Resources"].get(name, {}).get("Properties", {}).get("BucketName")
        return str(self.resolve(bucket)) if bucket is not None else f"${{{name}}}"

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this account and region get, with their properties resolved."""
        return {
            name: self.resolve(body)
            for name, body in self.template["Resources"].items()
            if "Condition" not in body or self.condition(body["Condition"])
        }
