"""tools/iam_lint.py: the lint refuses what AWS's catalog does not know and passes what it does."""
import json
import shutil
from pathlib import Path

import pytest

import iam_lint
from iam_catalog import Catalog
from iam_checks import check_statement
from iam_policies import policies_in_template

FIXTURES = Path(__file__).parent / "fixtures" / "iam-lint"
TEMPLATE = json.loads((FIXTURES / "Fixture.template.json").read_text())
NO_ALLOW_LIST = ["--allow", "/nonexistent/iam_lint_allow.txt"]


@pytest.fixture(scope="module")
def catalog():
    return Catalog.bundled()


@pytest.fixture(scope="module")
def findings_by_policy(catalog):
    report = iam_lint.lint_template("Fixture", TEMPLATE, catalog)
    found = {policy.logical_id: [] for policy in report.policies}
    for finding in report.findings:
        found[finding.policy.logical_id].append((finding.issue.code, finding.issue.subject))
    return found


def codes(statement, catalog):
    return [(issue.code, issue.subject) for issue in check_statement(statement, catalog)]


def test_a_misspelled_action_fails(findings_by_policy):
    assert findings_by_policy["MisspelledActionPolicy"] == [("UNKNOWN_ACTION", "s3:GetObjekt")]


def test_an_unknown_condition_key_fails(findings_by_policy):
    assert findings_by_policy["UnknownConditionKeyPolicy"] == [
        ("UNKNOWN_CONDITION_KEY", "s3:x-amz-server-side-encryptionn")]


def test_a_valid_policy_and_a_service_account_trust_policy_pass(findings_by_policy):
    assert findings_by_policy["ValidPolicy"] == []
    assert findings_by_policy["ValidServiceAccountRole"] == []


def test_the_command_exits_1_on_the_bad_policies_and_0_once_they_are_gone(tmp_path, capsys):
    shutil.copy(FIXTURES / "Fixture.template.json", tmp_path)
    assert iam_lint.main([str(tmp_path), *NO_ALLOW_LIST]) == 1
    assert "1 unknown actions, 1 unknown condition keys" in capsys.readouterr().out

    valid = dict(TEMPLATE, Resources={k: v for k, v in TEMPLATE["Resources"].items()
                                      if k not in ("MisspelledActionPolicy", "UnknownConditionKeyPolicy")})
    (tmp_path / "Fixture.template.json").write_text(json.dumps(valid))
    assert iam_lint.main([str(tmp_path), *NO_ALLOW_LIST]) == 0
    assert "2 policies (1 identity, 1 trust), 3 statements, 0 unknown actions, 0 unknown condition keys" in (
        capsys.readouterr().out)


def test_condition_keys_carried_by_cfn_json_are_resolved_not_dropped():
    role = next(p for p in policies_in_template("Fixture", TEMPLATE) if p.logical_id == "ValidServiceAccountRole")
    keys = set(role.document["Statement"][0]["Condition"]["StringEquals"])
    assert keys == {"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud",
                    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"}


def test_an_oidc_claim_key_is_accepted_only_for_assume_role_with_web_identity(catalog):
    key = "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"
    web_identity = {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {key: "x"}}}
    assert codes(web_identity, catalog) == []
    assert codes(dict(web_identity, Action="sts:AssumeRole"), catalog) == [("UNKNOWN_CONDITION_KEY", key)]
    misspelled = "oidc.eks.us-east-1.amazonaws.com/id/ABC:subb"
    assert codes(dict(web_identity, Condition={"StringEquals": {misspelled: "x"}}), catalog) == [
        ("UNKNOWN_CONDITION_KEY", misspelled)]


def test_global_keys_pass_and_a_misspelled_global_key_fails(catalog):
    statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {
        "Bool": {"aws:SecureTransport": "false"}, "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"},
        "StringNotEquals": {"aws:SourceAccount": "123456789012"}}}
    assert codes(statement, catalog) == []
    statement["Condition"] = {"Bool": {"aws:SecureTransprot": "false"}}
    assert codes(statement, catalog) == [("UNKNOWN_CONDITION_KEY", "aws:SecureTransprot")]


def test_a_service_key_none_of_the_actions_supports_fails_unless_the_operator_tolerates_its_absence(catalog):
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}}}
    assert codes(statement, catalog) == [("CONDITION_KEY_NOT_FOR_ACTIONS", "s3:x-amz-acl")]
    statement["Condition"] = {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}
    assert codes(statement, catalog) == []


def test_unknown_prefixes_wildcards_matching_nothing_and_bad_operators_fail(catalog):
    statement = {"Effect": "Allow", "Action": ["s4:GetObject", "s3:Gett*", "s3:Get*"], "Resource": "*",
                 "Condition": {"StringEqual": {"aws:RequestedRegion": "us-east-1"}}}
    assert codes(statement, catalog) == [("UNKNOWN_PREFIX", "s4:GetObject"), ("UNKNOWN_ACTION", "s3:Gett*"),
                                         ("UNKNOWN_CONDITION_OPERATOR", "StringEqual")]


def test_an_intrinsic_without_a_placeholder_is_reported_not_skipped(catalog):
    template = {"Resources": {"Policy": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::GetAZs": ""}}]}}}}}
    report = iam_lint.lint_template("Stack", template, catalog)
    assert [f.issue.code for f in report.findings] == ["UNRESOLVED_INTRINSIC"]


def test_an_allow_list_entry_needs_a_reason(tmp_path):
    allow = tmp_path / "allow.txt"
    allow.write_text("ACTION_CASE iam:listRoles Stack/Role\n")
    with pytest.raises(SystemExit, match="the reason included"):
        iam_lint.read_allow_list(allow)
