#!/usr/bin/env python3
"""Writes the inputs of the SPEC v2 golden scenarios (presence-coffee-badging,
amazon-missed-weeks, outages-and-adjustments). The expected/ outputs come from
`UPDATE_GOLDEN=1 cargo test --test it replay_golden` and are reviewed by hand; this
script only makes the inputs reproducible. Run from the repository root."""
import datetime as dt
import json
import os
import shutil

ROOT = "tests/scenarios"
SITES = '''[[site]]
id = "SEA-1"
timezone = "America/Los_Angeles"
region = "US"

[[site]]
id = "LON-1"
timezone = "Europe/London"
region = "UK"
'''
HOLIDAYS = '''[holidays]
US = ["2026-05-25"]
UK = ["2026-05-25"]
'''


def line(obj):
    return json.dumps(obj, separators=(",", ":"))


class Scenario:
    def __init__(self, name, policies, readme, now):
        self.dir = os.path.join(ROOT, name)
        self.policies, self.readme, self.now = policies, readme, now
        self.roster, self.badges, self.absences = [], [], []
        self.outages, self.adjustments = [], []
        self.n = 0

    def person(self, eid, group="corporate", site="SEA-1", manager="m-1", **extra):
        rec = {"employee_id": eid, "manager_id": manager, "vp_id": "vp-1", "org": "retail",
               "policy_group": group, "home_site": site, "hire_date": "2024-01-08",
               "status": "active"}
        rec.update(extra)
        self.roster.append(line(rec))

    def badge(self, eid, ts, direction="in", site="SEA-1"):
        self.n += 1
        self.badges.append(line({"event_id": f"b-{self.n}", "employee_id": eid,
                                 "site_id": site, "timestamp": ts, "direction": direction}))

    def visit(self, eid, date, t_in, t_out=None, zone="-07:00", site="SEA-1"):
        self.badge(eid, f"{date}T{t_in}{zone}", "in", site)
        if t_out:
            self.badge(eid, f"{date}T{t_out}{zone}", "out", site)

    def write(self):
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(os.path.join(self.dir, "config"))
        files = {"config/sites.toml": SITES, "config/holidays.toml": HOLIDAYS,
                 "config/policies.toml": self.policies, "README.md": self.readme,
                 "now": self.now + "\n"}
        for name, rows in [("roster.jsonl", self.roster), ("badges.jsonl", self.badges),
                           ("absences.jsonl", self.absences), ("outages.jsonl", self.outages),
                           ("adjustments.jsonl", self.adjustments)]:
            if rows or name in ("roster.jsonl", "badges.jsonl", "absences.jsonl"):
                files[name] = "".join(r + "\n" for r in rows)
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)


def days(monday, n):
    d = dt.date.fromisoformat(monday)
    return [(d + dt.timedelta(days=i)).isoformat() for i in range(n)]


# --- presence-coffee-badging -------------------------------------------------------------
s = Scenario("presence-coffee-badging", '''[[policy]]
id = "rto-3-2h"
version = 1
policy_groups = ["corporate"]
effective_from = "2026-05-04"
required_days = 3
min_presence = "2h"
escalation = [ { after_weeks = 1, level = "notice" } ]

[[policy]]
id = "rto-3-2h-strict"
version = 1
policy_groups = ["strict"]
effective_from = "2026-05-04"
required_days = 3
min_presence = "2h"
unverified_presence = "ignore"
''', '''# presence-coffee-badging

SPEC v2 §3.7: a minimum stay of 2 h per day, Los Angeles, weeks 2026-W19 and W20.

- e-1: three full days (8 h) in W19: compliant; in W20 one day of 2 h exactly (met, ties
  count), two coffee badges of 10 and 45 minutes and a Friday without badge-out (counted):
  2 of 3, non-compliant, two short days and one unverified day.
- e-2: three days with no badge-out: unverified and counted (`unverified_presence` count).
- e-3: the same under the `strict` group (`ignore`): unverified, not counted.
- e-4: in at 22:00, out at 01:00 the next day: the out never verifies the day (unverified),
  and the next day has an out but no in (no office day).
- e-5: in at Seattle, out 9 h later at London where it is already the next date: unverified.
- e-6: three days in W19, Thursday's out arrives after W19 closed: correction (revision 1),
  the day moves from unverified to short; then an earlier in for Thursday arrives late:
  presence is now 3 h, office day, revision 2.
''', "2026-05-26T07:00:00Z")
for e in ["e-1", "e-2", "e-4", "e-5", "e-6"]:
    s.person(e)
s.person("e-3", group="strict")
s.badge("kickoff", "2026-05-04T00:00:00-07:00")
w19, w20 = days("2026-05-04", 5), days("2026-05-11", 5)
for d in w19[:3]:
    s.visit("e-1", d, "09:00:00", "17:00:00")
s.visit("e-1", w20[0], "09:00:00", "11:00:00")
s.visit("e-1", w20[1], "09:00:00", "09:10:00")
s.visit("e-1", w20[2], "12:00:00", "12:45:00")
for d in w19[:3]:
    s.visit("e-2", d, "09:00:00")
    s.visit("e-3", d, "09:00:00")
s.visit("e-4", w19[1], "22:00:00")
s.badge("e-4", f"{w19[2]}T01:00:00-07:00", "out")
s.visit("e-5", w19[3], "09:00:00")
s.badge("e-5", f"{w19[3]}T18:00:00-07:00", "out", site="LON-1")
for d in w19[:2]:
    s.visit("e-6", d, "08:00:00", "16:00:00")
s.visit("e-6", w19[3], "11:00:00")
for d in w20:
    s.visit("e-1", d, "07:00:00") if d == w20[4] else None
s.badge("e-2", f"{w20[3]}T09:00:00-07:00")
# W19 closes at 2026-05-12T07:00Z; W20's badges above moved the watermark past it.
s.badge("e-6", f"{w19[3]}T12:30:00-07:00", "out")
s.badge("e-6", f"{w19[3]}T09:30:00-07:00", "in")
s.write()

# --- amazon-missed-weeks -----------------------------------------------------------------
s = Scenario("amazon-missed-weeks", '''# Amazon's reported warning rule (SPEC §4.1): fewer than 3 days in 5 or more of the last
# 8 weeks.
[[policy]]
id = "amazon-5-of-8"
version = 1
policy_groups = ["corporate"]
effective_from = "2026-04-06"
required_days = 3
rule = { kind = "missed_weeks", weeks = 8, max_missed = 4 }
escalation = [ { after_weeks = 1, level = "notice" }, { after_weeks = 3, level = "written_warning" } ]
''', '''# amazon-missed-weeks

SPEC v2 §4.3 rule 7 with Amazon's rule (3 days, at most 4 missed weeks of the last 8),
Los Angeles, 2026-W15 to W23 (W22 has Memorial Day: 2 days required).

- e-1: misses W15–W18 (4, the allowance) and meets W19: compliant throughout; misses W20:
  5 missed in the window, non_compliant `too_many_missed_weeks`, notice. In W21 at-risk
  fires (allowance used) and the week is missed; in W22 the oldest misses leave the window.
- e-2: misses every other week: never more than 4 in 8, compliant every week.
- e-3: a PTO week (W17) is fully excused and left out of every window that holds it.
- e-4: meets every week: no at-risk under missed_weeks even with a slow start of a week.
''', "2026-06-10T07:00:00Z")
for e in ["e-1", "e-2", "e-3", "e-4"]:
    s.person(e)
s.badge("kickoff", "2026-04-06T00:00:00-07:00")
mondays = [(dt.date(2026, 4, 6) + dt.timedelta(weeks=k)).isoformat() for k in range(9)]
plan = {
    "e-1": [1, 0, 2, 1, 3, 1, 0, 3, 3],
    "e-2": [3, 1, 3, 1, 3, 1, 3, 1, 3],
    "e-3": [3, 2, 0, 3, 1, 3, 0, 0, 0],
    "e-4": [3, 3, 3, 3, 3, 3, 3, 2, 3],
}
s.absences.append(line({"absence_id": "a-1", "employee_id": "e-3", "start_date": "2026-04-20",
                        "end_date": "2026-04-24", "kind": "pto", "status": "approved"}))
for k, monday in enumerate(mondays):
    for e, counts in plan.items():
        # e-4 comes in from Wednesday on: at-risk does not fire (no missed week yet).
        first = 2 if e == "e-4" else 0
        for d in days(monday, 5)[first:first + counts[k]]:
            s.visit(e, d, "09:00:00", "17:00:00")
s.write()

# --- outages-and-adjustments -------------------------------------------------------------
s = Scenario("outages-and-adjustments", '''[[policy]]
id = "rto-3"
version = 1
policy_groups = ["corporate"]
effective_from = "2026-05-04"
required_days = 3
escalation = [ { after_weeks = 1, level = "notice" } ]
''', '''# outages-and-adjustments

SPEC v2 §1.5 and §1.6, Seattle and London, weeks 2026-W19 to W21, correction_weeks 4.

Outages (applied before the badges, §7): o-1 SEA-1 Wed 2026-05-06 (active); o-2 SEA-1
Thu–Fri 2026-05-14/15, later cancelled; o-3 LON-1 Mon 2026-05-18, later moved to SEA-1
(a new site_id replaces it); bad lines: unknown site, end before start, a span of 367 days,
a missing status.

Adjustments: adj-1 credits e-1's Friday 2026-05-08 (a forgotten badge); adj-2 excuses e-2's
Tuesday 2026-05-12, then is cancelled; adj-3 excuses e-3's Saturday (listed, excuses
nothing); adj-4 is self-approved, adj-5 has an empty requested_by, adj-6 no reason (dead
letters).

- e-1 (SEA-1): two badged days in W19 plus adj-1's credit, with Wednesday excused by o-1:
  3 of 2 required, compliant.
- e-2 (SEA-1): two days in W20: o-2 was cancelled and adj-2 too, so 3 are required:
  non_compliant.
- e-3 (SEA-1): three days each week; W21 Monday excused by o-3 once moved to SEA-1.
- e-4 (LON-1): W21 Monday is not excused (o-3 moved away), two days: non_compliant.
''', "2026-06-02T07:00:00Z")
s.person("e-1")
s.person("e-2")
s.person("e-3")
s.person("e-4", site="LON-1")
o = lambda oid, site, a, b, status="active", **kw: line(dict(
    {"outage_id": oid, "site_id": site, "start_date": a, "end_date": b, "status": status,
     "reason": "badge readers offline"}, **kw))
s.outages += [
    o("o-1", "SEA-1", "2026-05-06", "2026-05-06"),
    o("o-2", "SEA-1", "2026-05-14", "2026-05-15"),
    o("o-3", "LON-1", "2026-05-18", "2026-05-18"),
    o("o-bad-site", "MARS-1", "2026-05-06", "2026-05-06"),
    o("o-bad-order", "SEA-1", "2026-05-08", "2026-05-06"),
    o("o-bad-span", "SEA-1", "2026-01-01", "2027-01-02"),
    line({"outage_id": "o-bad-status", "site_id": "SEA-1", "start_date": "2026-05-06",
          "end_date": "2026-05-06"}),
    o("o-2", "SEA-1", "2026-05-14", "2026-05-15", "cancelled"),
    o("o-3", "SEA-1", "2026-05-18", "2026-05-18"),
]
a = lambda aid, eid, date, action, status="approved", **kw: line(dict(
    {"adjustment_id": aid, "employee_id": eid, "date": date, "action": action,
     "status": status, "reason": "badge reader at door 3 faulty", "requested_by": eid,
     "approved_by": "m-1"}, **kw))
s.adjustments += [
    a("adj-1", "e-1", "2026-05-08", "credit_office_day"),
    a("adj-2", "e-2", "2026-05-12", "excuse_day"),
    a("adj-3", "e-3", "2026-05-09", "excuse_day"),
    a("adj-4", "e-3", "2026-05-11", "credit_office_day", approved_by="e-3"),
    a("adj-5", "e-3", "2026-05-11", "credit_office_day", requested_by=""),
    line({"adjustment_id": "adj-6", "employee_id": "e-3", "date": "2026-05-11",
          "action": "credit_office_day", "status": "approved", "approved_by": "m-1"}),
    a("adj-2", "e-2", "2026-05-12", "excuse_day", "cancelled"),
]
s.badge("kickoff", "2026-05-04T00:00:00-07:00")
s.visit("e-1", "2026-05-04", "09:00:00", "17:00:00")
s.visit("e-1", "2026-05-05", "09:00:00", "17:00:00")
for monday in ["2026-05-04", "2026-05-11", "2026-05-18"]:
    for d in days(monday, 5)[1:4]:
        s.visit("e-3", d, "09:00:00", "17:00:00")
    for d in days(monday, 5)[1:3]:
        s.visit("e-4", d, "09:00:00", "17:00:00", zone="+01:00", site="LON-1")
s.visit("e-2", "2026-05-11", "09:00:00", "17:00:00")
s.visit("e-2", "2026-05-13", "09:00:00", "17:00:00")
s.write()
print("written")
