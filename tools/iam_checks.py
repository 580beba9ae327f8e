"""Checks of one IAM policy statement against AWS's catalog: pure functions, no I/O.

Errors (the lint fails on them): an action or service prefix the catalog does not know, a condition key no
service documents, a service key or tag key (aws:RequestTag/, aws:ResourceTag/, aws:TagKeys) that none of the
statement's actions supports (the condition then never matches, so the statement grants or denies nothing),
an unknown condition operator, a malformed element.
Warnings: an action spelled in a different case than the catalog's (IAM ignores case), and a resource ARN
that matches none of an action's resource types (that action is then not granted on it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iam_catalog import (
    ASSUME_ROLE_WITH_WEB_IDENTITY,
    Catalog,
    is_global_condition_key,
    is_web_identity_key,
)

ERROR_CODES = frozenset({
    "UNKNOWN_PREFIX", "UNKNOWN_ACTION", "UNKNOWN_CONDITION_KEY", "CONDITION_KEY_NOT_FOR_ACTIONS",
    "UNKNOWN_CONDITION_OPERATOR", "MALFORMED", "UNRESOLVED_INTRINSIC",
})

GLOBAL_KEYS_LISTED_PER_ACTION = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
CONDITION_OPERATOR = re.compile(
    r"^(ForAllValues:|ForAnyValue:)?"
    r"((String(Not)?Equals(IgnoreCase)?|String(Not)?Like|Numeric(Not)?Equals|Numeric(Less|Greater)Than(Equals)?"
    r"|Date(Not)?Equals|Date(Less|Greater)Than(Equals)?|Bool|BinaryEquals|(Not)?IpAddress|Arn(Not)?(Equals|Like))"
    r"(IfExists)?|Null)$"
)


@dataclass(frozen=True)
class Issue:
    code: str
    subject: str  # the action, condition key, operator or resource the issue is about
    detail: str

    @property
    def is_error(self) -> bool:
        return self.code in ERROR_CODES


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_statement(statement: Any, catalog: Catalog) -> list[Issue]:
    if not isinstance(statement, dict):
        return [Issue("MALFORMED", str(statement)[:60], "a statement must be an object")]
    issues: list[Issue] = []
    actions, every_action_listed = _check_actions(statement, catalog, issues)
    _check_conditions(statement, catalog, actions if every_action_listed else None, issues)
    if every_action_listed and statement.get("Effect") == "Allow":
        # Only actions named in full: a wildcard (s3:*) stands for many actions that were never meant for the ARN.
        named = {a.lower() for a in as_list(statement["Action"]) if isinstance(a, str) and not re.search(r"[*?]", a)}
        _check_resources(statement, catalog, [(p, a) for p, a in actions if f"{p}:{a}".lower() in named], issues)
    return issues


def _check_actions(statement: dict[str, Any], catalog: Catalog, issues: list[Issue]):
    """The (prefix, action) pairs the statement's Action grants, and whether they are all it applies to."""
    if "Action" not in statement and "NotAction" not in statement:
        issues.append(Issue("MALFORMED", "Action", "the statement has neither Action nor NotAction"))
    actions: list[tuple[str, str]] = []
    every_action_listed = "NotAction" not in statement
    for element in ("Action", "NotAction"):
        for pattern in as_list(statement.get(element)):
            if pattern == "*":
                every_action_listed = False
                continue
            if not isinstance(pattern, str) or pattern.count(":") != 1:
                issues.append(Issue("MALFORMED", str(pattern), f"{element} entries are 'service:action'"))
                continue
            prefix, name = pattern.split(":")
            if not catalog.has_prefix(prefix):
                issues.append(Issue("UNKNOWN_PREFIX", pattern, f"no service has the prefix '{prefix}'"))
                continue
            matches = catalog.actions_matching(prefix, name)
            if not matches:
                issues.append(Issue("UNKNOWN_ACTION", pattern, f"no {prefix} action matches '{name}'"))
            elif not any(c in name for c in "*?") and matches[0] != name:
                issues.append(Issue("ACTION_CASE", pattern, f"the catalog spells it {prefix}:{matches[0]}"))
            if element == "Action":
                actions += [(prefix.lower(), match) for match in matches]
    return actions, every_action_listed


def _check_conditions(statement, catalog: Catalog, actions: list[tuple[str, str]] | None, issues: list[Issue]):
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict):
        issues.append(Issue("MALFORMED", "Condition", "Condition must be an object of operators"))
        return
    for operator, block in condition.items():
        if not CONDITION_OPERATOR.match(operator):
            issues.append(Issue("UNKNOWN_CONDITION_OPERATOR", operator, "not an IAM condition operator"))
        if not isinstance(block, dict):
            issues.append(Issue("MALFORMED", operator, "a condition operator takes an object of keys"))
            continue
        for key in block:
            issue = _check_condition_key(key, operator, catalog, actions)
            if issue:
                issues.append(issue)


def _check_condition_key(key: str, operator: str, catalog: Catalog, actions) -> Issue | None:
    if is_web_identity_key(key) and actions and all(a == ASSUME_ROLE_WITH_WEB_IDENTITY for a in actions):
        return None
    if is_global_condition_key(key):
        # Of the global keys, only the tag keys are listed per action in the catalog: check those further.
        if not key.lower().startswith(GLOBAL_KEYS_LISTED_PER_ACTION):
            return None
    elif ":" not in key:
        return Issue("UNKNOWN_CONDITION_KEY", key, "a condition key is 'service:name'")
    else:
        # A service may document another service's key (arc-zonal-shift lists elasticloadbalancing:ResourceTag/).
        prefixes = {key.split(":", 1)[0].lower()} | {prefix for prefix, _ in actions or []}
        if not any(catalog.is_service_condition_key(prefix, key) for prefix in prefixes):
            return Issue("UNKNOWN_CONDITION_KEY", key, "neither a global key nor one the catalog lists for " +
                         ", ".join(sorted(prefixes)))
    if actions and not any(catalog.action_supports_condition_key(p, a, key) for p, a in actions):
        # Absent keys make Null and ...IfExists conditions true, so only other operators make the statement dead.
        if operator == "Null" or operator.endswith("IfExists"):
            return None
        names = sorted({f"{p}:{a}" for p, a in actions})
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return Issue("CONDITION_KEY_NOT_FOR_ACTIONS", key, f"none of {shown} supports it: the statement never applies")
    return None


def _check_resources(statement, catalog: Catalog, actions: list[tuple[str, str]], issues: list[Issue]) -> None:
    resources = as_list(statement.get("Resource"))
    # Placeholders for values CloudFormation fills in are not ARNs: only fully known resources are checked.
    if not resources or not all(isinstance(r, str) and r.startswith("arn:") for r in resources):
        return
    for prefix, action in sorted(set(actions)):
        formats = catalog.resource_arn_formats(prefix, action)
        if not formats:
            issues.append(Issue("RESOURCE_MISMATCH", f"{prefix}:{action}",
                                'the action has no resource-level permissions: it needs Resource "*"'))
        elif not any(_arn_matches(resource, arn_format) for resource in resources for arn_format in formats):
            issues.append(Issue("RESOURCE_MISMATCH", f"{prefix}:{action}",
                                f"no resource matches its ARN formats ({', '.join(formats[:2])})"))


def _arn_matches(resource: str, arn_format: str) -> bool:
    """Whether some ARN fits both the policy's resource and the catalog's format (wildcards on both sides)."""
    return _globs_intersect(resource.replace("?", "*"), re.sub(r"\$\{[^}]+\}", "*", arn_format))


@lru_cache(maxsize=4096)
def _globs_intersect(a: str, b: str) -> bool:
    # From parliament's is_glob_match (https://github.com/duo-labs/parliament/issues/36#issuecomment-574001764).
    if a == b or a.strip("*") == "" or b.strip("*") == "":
        return True
    if not a or not b:
        return False
    if a[0] == "*":
        return _globs_intersect(a[1:], b) or _globs_intersect(a, b[1:])
    if b[0] == "*":
        return _globs_intersect(a, b[1:]) or _globs_intersect(a[1:], b)
    return a[0].lower() == b[0].lower() and _globs_intersect(a[1:], b[1:])
