"""Reducing findings to items, and judging changes between runs: what is news and what is not."""

from __future__ import annotations

from watch.diff import CHANGE, RECOVERY, Item, compare, decode_state, encode_state, items, next_state

IP = "81.2.69.160"


def finding(check, status, about, summary="", kb=None, **evidence):
    return {
        "check": check,
        "status": status,
        "about": about,
        "summary": summary or status,
        "kb": kb,
        "evidence": evidence,
    }


def clean_on(*lists):
    return finding(
        "blocklist", "pass", IP, "not listed", "blocklist-clean", lists=[{"list": z} for z in lists]
    )


def test_blocklist_clean_finding_is_one_item_per_list():
    found = items([clean_on("a.example", "b.example")], IP)
    assert set(found) == {f"blocklist|{IP} on a.example", f"blocklist|{IP} on b.example"}
    assert {i.status for i in found.values()} == {"pass"}


def test_listing_compares_with_that_lists_clean_state():
    before = items([clean_on("a.example", "b.example")], IP)
    after = items(
        [
            clean_on("b.example"),
            finding("blocklist", "fail", IP, "listed on A", "blocklist-ip-listed", list="a.example"),
        ],
        IP,
    )
    [change] = compare(before, after, ["blocklist"])
    assert (change.about, change.before_status, change.after_status, change.event) == (
        f"{IP} on a.example",
        "pass",
        "fail",
        CHANGE,
    )


def test_an_error_is_never_a_change_and_keeps_the_last_known_state():
    known = items([finding("rdns", "pass", IP, kb="ptr-ok")], IP)
    failed = items([finding("rdns", "error", IP, kb="dns-lookup-failed")], IP)
    assert compare(known, failed, ["rdns"]) == []
    state = next_state(known, failed, ["rdns"])
    assert state == known
    again = items([finding("rdns", "pass", IP, kb="ptr-ok")], IP)
    assert compare(state, again, ["rdns"]) == []  # error → pass is not a recovery
    gone = items([finding("rdns", "fail", IP, kb="ptr-missing")], IP)
    assert [c.event for c in compare(state, gone, ["rdns"])] == [CHANGE]  # pass → error → fail


def test_several_findings_about_one_thing_take_the_worst_known_one():
    found = items(
        [finding("rdns", "pass", IP, kb="ptr-ok"), finding("rdns", "warn", IP, kb="ptr-generic")], IP
    )
    assert found[f"rdns|{IP}"].status == "warn"
    mixed = items([finding("rdns", "error", IP), finding("rdns", "pass", IP)], IP)
    assert mixed[f"rdns|{IP}"].status == "pass"


def test_dmarc_policy_lowered_at_the_same_status_is_a_change_and_restored_a_recovery():
    def dmarc(p):
        return finding(
            "dmarc",
            "pass",
            "_dmarc.example.com",
            f"p={p}",
            "dmarc-ok",
            tags={"p": p},
            applies_from="_dmarc.example.com",
        )

    reject, quarantine = items([dmarc("reject")], "example.com"), items([dmarc("quarantine")], "example.com")
    assert [c.event for c in compare(reject, quarantine, ["dmarc"])] == [CHANGE]
    lowered = next_state(reject, quarantine, ["dmarc"])
    assert [c.event for c in compare(lowered, reject, ["dmarc"])] == [RECOVERY]
    assert compare(quarantine, reject, ["dmarc"]) == []  # raised from where it always was: no news


def test_a_subdomain_under_its_parents_record_is_graded_by_sp():
    def inherited(sp):
        return finding(
            "dmarc",
            "pass",
            "_dmarc.example.com",
            "",
            "dmarc-ok",
            tags={"p": "reject", "sp": sp},
            applies_from="_dmarc.example.com",
        )

    strict, loose = (
        items([inherited("reject")], "mail.example.com"),
        items([inherited("none")], "mail.example.com"),
    )
    assert [c.event for c in compare(strict, loose, ["dmarc"])] == [CHANGE]


def test_dkim_key_weakened_then_restored_but_moving_to_ed25519_is_no_news():
    def key(bits, key_type="rsa"):
        return items(
            [
                finding(
                    "dkim",
                    "pass",
                    "s1._domainkey.example.com",
                    "",
                    "dkim-ok",
                    key_bits=bits,
                    key_type=key_type,
                )
            ],
            "example.com",
        )

    state = key(4096)
    [weakened] = compare(state, key(2048), ["dkim"])
    assert weakened.event == CHANGE
    state = next_state(state, key(2048), ["dkim"])
    [restored] = compare(state, key(4096), ["dkim"])
    assert restored.event == RECOVERY
    state = next_state(state, key(4096), ["dkim"])
    assert compare(state, key(8192), ["dkim"]) == []  # stronger than ever: not a recovery of anything
    assert compare(key(2048), key(256, "ed25519"), ["dkim"]) == []


def test_same_status_other_problem_is_a_change_but_pass_and_info_are_alike():
    missing = items([finding("rdns", "fail", IP, kb="ptr-missing")], IP)
    mismatch = items([finding("rdns", "fail", IP, kb="ptr-not-fcrdns")], IP)
    assert [c.event for c in compare(missing, mismatch, ["rdns"])] == [CHANGE]
    ok = items([finding("rdns", "pass", IP, kb="ptr-ok")], IP)
    hosted = items([finding("rdns", "info", IP, kb="ptr-hosted")], IP)
    assert compare(ok, hosted, ["rdns"]) == []


def test_a_problem_no_longer_reported_recovers_only_when_the_check_ran_cleanly():
    before = items(
        [finding("dmarc", "warn", "x._report._dmarc.example.net", kb="dmarc-external-reports")], "example.com"
    )
    clean = items([finding("dmarc", "pass", "_dmarc.example.com", kb="dmarc-ok")], "example.com")
    [change] = compare(before, clean, ["dmarc"])
    # The check's new clean word about another name is the "after" (not "no longer reported").
    assert (change.event, change.after_status, change.after.about) == (RECOVERY, "pass", "_dmarc.example.com")
    failing = items([finding("dmarc", "error", "_dmarc.example.com", kb="dns-lookup-failed")], "example.com")
    assert compare(before, failing, ["dmarc"]) == []
    assert compare(before, clean, ["mx"]) == []  # dmarc did not run: nothing is known about it


def test_a_new_problem_is_a_change_only_where_the_check_ran_before():
    before = items([finding("spf", "pass", "example.com", kb="spf-ok")], "example.com")
    after = items(
        [
            finding("spf", "pass", "example.com", kb="spf-ok"),
            finding("spf", "fail", "inc.example.net", kb="spf-include-missing"),
        ],
        "example.com",
    )
    [change] = compare(before, after, ["spf"])
    assert (change.before_status, change.after_status, change.event) == ("absent", "fail", CHANGE)
    assert compare({}, after, ["spf"]) == []  # no baseline: nothing to compare with


def test_state_round_trips_through_json():
    state = items([clean_on("a.example"), finding("rdns", "pass", IP, kb="ptr-ok")], IP)
    assert decode_state(encode_state(state)) == state
    assert isinstance(next(iter(decode_state(encode_state(state)).values())), Item)


def test_spf_broken_by_an_include_says_it_was_valid_before_and_recovers_to_valid():
    """SPF speaks about the domain when valid and about the broken include when not: one item replaces
    the other, so the alert's "before" is the valid record, not "not reported", and back again."""
    valid = items([finding("spf", "pass", "example.com", "SPF record is valid", kb="spf-ok")], "example.com")
    broken = items(
        [finding("spf", "fail", "inc.example.net", "include has no SPF record", kb="spf-include-missing")],
        "example.com",
    )
    [change] = compare(valid, broken, ["spf"])
    assert (change.event, change.before_status, change.after_status) == (CHANGE, "pass", "fail")
    assert change.before_summary == "SPF record is valid"
    [back] = compare(next_state(valid, broken, ["spf"]), valid, ["spf"])
    assert (back.event, back.before_status, back.after_status) == (RECOVERY, "fail", "pass")
    assert back.after_summary == "SPF record is valid"
    # A clean item still reported is no "before": a new problem beside it was not reported before.
    both = items(
        [
            finding("spf", "pass", "example.com", kb="spf-ok"),
            finding("spf", "fail", "inc.example.net", kb="spf-include-missing"),
        ],
        "example.com",
    )
    [added] = compare(valid, both, ["spf"])
    assert added.before_status == "absent"
