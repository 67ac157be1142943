"""`inflow migrate --template NAME` and `--list-templates`: ready-made families between two localorg orgs."""

from __future__ import annotations

from tests.migration.helpers import by, rows


def _invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "migrate", *args])


def _orgs(src, dst) -> list[str]:
    return ["--from-instance-url", src.instance_url, "--from-access-token", src.ready_token,
            "--to-instance-url", dst.instance_url, "--to-access-token", dst.ready_token]


def test_list_templates_names_each_family_and_its_match_rules(app):
    result = _invoke(app, "--list-templates")
    assert result.exit_code == 0, result.output
    assert ("accounts-contacts-opportunities: Accounts, Contacts and Opportunities (Account, Contact, Opportunity; "
            "match Account by Name; Contact by Email; Opportunity by Name)") in result.output
    assert "products-pricebooks: " in result.output and "PricebookEntry by Pricebook2Id+Product2Id" in result.output
    assert "cases-comments: Cases and Case comments (Case, CaseComment; match always insert)" in result.output


def test_accounts_contacts_opportunities_template_twice_creates_no_duplicates(app, make_org, tmp_path):
    src, dst = make_org("tpl-src"), make_org("tpl-dst")
    acme = src.store.insert("Account", {"Name": "Acme"})
    src.store.insert("Account", {"Name": "Zeta"})
    src.store.insert("Contact", {"LastName": "Ada", "Email": "ada@acme.test", "AccountId": acme})
    src.store.insert("Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31",
                                     "AccountId": acme})
    args = [*_orgs(src, dst), "--template", "accounts-contacts-opportunities", "--where", "Account=Name LIKE 'A%'",
            "--out", str(tmp_path)]
    first = _invoke(app, *args)
    assert first.exit_code == 0, first.output
    assert "Opportunity: 1 read, 1 inserted, 0 updated, 0 failed" in first.output
    second = _invoke(app, *args)
    assert second.exit_code == 0, second.output
    assert "Account: 1 read, 0 inserted, 1 updated" in second.output
    assert "Opportunity: 1 read, 0 inserted, 1 updated" in second.output
    accounts = by(dst, "Account", "Name")
    assert list(accounts) == ["Acme"] and len(rows(dst, "Contact")) == 1
    assert by(dst, "Opportunity", "Name")["Acme renewal"]["AccountId"] == accounts["Acme"]["Id"]
    assert by(dst, "Contact", "LastName")["Ada"]["AccountId"] == accounts["Acme"]["Id"]


def test_cases_comments_template_dry_run_counts_both_objects(app, make_org, tmp_path):
    src, dst = make_org("case-src"), make_org("case-dst")
    case = src.store.insert("Case", {"Subject": "Broken"})
    src.store.insert("CaseComment", {"ParentId": case, "CommentBody": "Looking into it"})
    result = _invoke(app, *_orgs(src, dst), "--template", "cases-comments", "--dry-run", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "2. CaseComment: after Case (ParentId)" in result.output
    assert "CaseComment: 1 read, 1 would be inserted" in result.output
    assert rows(dst, "Case") == []


def test_unknown_template_and_two_plan_sources_are_refused(app, make_org):
    src, dst = make_org("bad-src"), make_org("bad-dst")
    unknown = _invoke(app, *_orgs(src, dst), "--template", "leads")
    assert unknown.exit_code == 1
    assert "No template 'leads'; templates: accounts-contacts-opportunities" in unknown.output
    both = _invoke(app, *_orgs(src, dst), "--template", "cases-comments", "--objects", "Case")
    assert both.exit_code == 2 and "Give one of --plan FILE, --objects A,B or --template NAME." in both.output
