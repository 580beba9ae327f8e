"""Every IAM policy document in a synthesized CloudFormation template, with its intrinsics resolved.

A policy document is any object with a `Statement` under a resource's Properties: identity policies
(AWS::IAM::Policy, ManagedPolicy, inline `Policies` of roles, users and groups), trust policies
(`AssumeRolePolicyDocument`) and resource policies (bucket, queue, topic and KMS key policies, ECR
repository policies, ...). Finding them by shape rather than by a list of types means a new resource type
cannot slip past the lint.

CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::FindInMap) are
replaced by plausible values (a fixed account and region, ARNs shaped like the referenced resource's) so
the linter sees plain strings. CDK's `CfnJson` custom resource, which carries condition keys that are only
known at deploy time (an EKS cluster's OIDC issuer), is resolved into its JSON, so no condition key is
hidden. An intrinsic this module cannot resolve raises UnresolvedIntrinsic: the lint reports it rather
than skip the document.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO_PARAMETERS = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"

# What `Ref` returns for the types whose Ref is not a plain name, from each type's "Return values" in
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
REF_FORMATS = {
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{account}:policy/{name}",
    "AWS::IAM::OIDCProvider": "arn:aws:iam::{account}:oidc-provider/" + OIDC_ISSUER,
    "Custom::AWSCDKOpenIdConnectProvider": "arn:aws:iam::{account}:oidc-provider/" + OIDC_ISSUER,
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
}
# What `Fn::GetAtt <resource>.Arn` returns, for the types our policies point at.
ARN_FORMATS = {
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::IAM::User": "arn:aws:iam::{account}:user/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{name}",
    "AWS::ECR::Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "AWS::EKS::Cluster": "arn:aws:eks:{region}:{account}:cluster/{name}",
    "Custom::AWSCDK-EKS-Cluster": "arn:aws:eks:{region}:{account}:cluster/{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
}
CFN_JSON = "Custom::AWSCDKCfnJson"


class UnresolvedIntrinsic(ValueError):
    """An intrinsic function this module has no placeholder for."""


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document: where it sits and its content with intrinsics resolved (None if unresolvable)."""

    stack: str
    logical_id: str
    resource_type: str
    path: str
    kind: str  # identity, trust or resource
    document: dict[str, Any] | None
    error: str = ""


def policies_in_template(stack: str, template: dict[str, Any]) -> list[PolicyDocument]:
    """Every policy document under the template's resources, in template order."""
    resolver = Resolver(stack, template)
    found: list[PolicyDocument] = []
    for logical_id, resource in template.get("Resources", {}).items():
        resource_type = resource.get("Type", "")
        for path, raw in _documents_in(resource.get("Properties", {}), ""):
            kind = _kind_of(resource_type, path)
            try:
                document = resolver.resolve(raw)
            except UnresolvedIntrinsic as error:
                found.append(PolicyDocument(stack, logical_id, resource_type, path, kind, None, str(error)))
                continue
            found.append(PolicyDocument(stack, logical_id, resource_type, path, kind, document))
    return found


def _documents_in(value: Any, path: str):
    if isinstance(value, dict):
        if "Statement" in value:
            yield path, value
            return
        for key, child in value.items():
            yield from _documents_in(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _documents_in(child, f"{path}[{index}]")
    elif isinstance(value, str) and '"Statement"' in value:
        # Some types take the document as a JSON string (AWS::Logs::ResourcePolicy, AWS::ECR::Repository).
        try:
            yield from _documents_in(json.loads(value), path)
        except json.JSONDecodeError:
            pass


def _kind_of(resource_type: str, path: str) -> str:
    if path == "AssumeRolePolicyDocument":
        return "trust"
    if resource_type.startswith("AWS::IAM::"):
        return "identity"
    return "resource"


class Resolver:
    """Replaces intrinsics by placeholders, using the template to shape ARNs like the referenced resource's."""

    def __init__(self, stack: str, template: dict[str, Any]):
        self.stack = stack
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})
        self.mappings = template.get("Mappings", {})

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._intrinsic(name, argument)
        resolved = {key: self.resolve(child) for key, child in value.items()}
        return {key: child for key, child in resolved.items() if child is not None}

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self._ref(argument)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, self.resolve(attribute))
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if name == "Fn::Sub":
            return self._sub(*argument) if isinstance(argument, list) else self._sub(argument, {})
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if name == "Fn::FindInMap":
            mapping, key, attribute = (self.resolve(part) for part in argument)
            return self.mappings[mapping][key][attribute]
        raise UnresolvedIntrinsic(f"{self.stack}: no placeholder for {name} {json.dumps(argument)[:120]}")

    def _ref(self, logical_id: str) -> Any:
        if logical_id in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[logical_id]
        if logical_id == "AWS::StackName":
            return self.stack
        if logical_id in self.parameters:
            return self.parameters[logical_id].get("Default", f"<{logical_id}>")
        resource_type = self._type_of(logical_id)
        return self._format(REF_FORMATS.get(resource_type, "{name}"), logical_id)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource_type = self._type_of(logical_id)
        if resource_type == CFN_JSON and attribute == "Value":
            value = self.resolve(self.resources[logical_id]["Properties"]["Value"])
            return json.loads(value) if isinstance(value, str) else value
        if attribute == "Arn" and resource_type in ARN_FORMATS:
            return self._format(ARN_FORMATS[resource_type], logical_id)
        if attribute == "Arn":
            service = resource_type.split("::")[1].lower() if "::" in resource_type else "unknown"
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{logical_id.lower()}"
        return f"<{logical_id}.{attribute}>"

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _type_of(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise UnresolvedIntrinsic(f"{self.stack}: reference to {logical_id}, which is not in the template")
        return self.resources[logical_id].get("Type", "")

    def _format(self, pattern: str, logical_id: str) -> str:
        return pattern.format(account=ACCOUNT, region=REGION, name=logical_id.lower())
