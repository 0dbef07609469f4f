//! Turning evaluations into the output values of §6, with the alert and change rules of §5.

use crate::domain::ids::OutputId;
use crate::domain::output::{
    ComplianceChange, Decision, ManagerAlert, PolicyRef, WeekDays, Window, DECISION_SCHEMA_VERSION,
    SCHEMA_VERSION,
};
use crate::domain::{ids, AlertKind, EmployeeId, Status, Week};
use compact_str::CompactString;

use super::evaluate::{escalation_level, AtRisk, Evaluation};
use super::state::{DecisionRecord, Roster};
use super::{explain, Engine, Output, Sink};

/// Facts of a resolved or retracted alert about decision `decision_id` of `e`: no level, no
/// promotion hold.
fn plain_facts(
    kind: AlertKind,
    eval: &Evaluation,
    decision_id: OutputId,
    explanation: String,
) -> AlertFacts {
    AlertFacts {
        week: eval.week,
        streak: eval.streak,
        level: None,
        vp_hold: false,
        decision_id: Some(decision_id),
        alert_id: ids::decision_alert_id(kind, &decision_id),
        explanation,
    }
}

/// What an alert is about, besides its kind.
struct AlertFacts {
    week: Week,
    streak: u32,
    level: Option<CompactString>,
    vp_hold: bool,
    decision_id: Option<OutputId>,
    alert_id: OutputId,
    explanation: String,
}

impl Engine {
    pub(super) fn decision_value(
        &self,
        i: usize,
        roster: &Roster,
        eval: &Evaluation,
        revision: u32,
    ) -> Decision {
        let employee = &self.employees[i];
        let policy = &self.rules.policies[eval.policy];
        let grace_week = roster.hire.map(|h| eval.week.0 - h.week().0 + 1);
        Decision {
            schema_version: DECISION_SCHEMA_VERSION,
            decision_id: ids::decision_id(&employee.id, eval.week, revision),
            employee_id: EmployeeId::from_parsed(&employee.id),
            week: eval.week,
            week_start: eval.week.monday(),
            status: eval.status,
            reason: eval.reason,
            office_days: WeekDays::new(eval.week, eval.facts.office),
            required_days: eval.facts.required,
            exempt_days: WeekDays::new(eval.week, eval.facts.exempt),
            short_days: WeekDays::new(eval.week, eval.facts.short),
            unverified_days: WeekDays::new(eval.week, eval.facts.unverified),
            adjustments: eval.adjustments.iter().map(|a| a.to_string()).collect(),
            policy: PolicyRef {
                id: CompactString::new(&policy.id),
                version: policy.version,
            },
            window: Window {
                weeks: eval.window.weeks.clone(),
                office_days: eval.window.office,
                required_days: eval.window.required,
                missed_weeks: eval.window.missed.len() as u32,
            },
            revision,
            correction: revision > 0,
            consecutive_non_compliant_weeks: eval.streak,
            manager_id: roster.manager.map(|m| self.interner.owned(m)),
            org: self.interner.owned(roster.org),
            explanation: explain::decision(
                eval,
                policy,
                employee,
                &self.interner,
                &self.rules,
                grace_week,
            ),
        }
    }

    fn alert(&self, i: usize, roster: &Roster, kind: AlertKind, f: AlertFacts, out: &mut dyn Sink) {
        let Some(manager) = roster.manager else {
            out.emit(Output::AlertWithoutManager(kind));
            return;
        };
        out.emit(Output::Alert(ManagerAlert {
            schema_version: SCHEMA_VERSION,
            alert_id: f.alert_id,
            manager_id: self.interner.owned(manager),
            vp_id: roster.vp.map(|v| self.interner.owned(v)),
            employee_id: EmployeeId::from_parsed(&self.employees[i].id),
            week: f.week,
            kind,
            escalation_level: f.level,
            consecutive_non_compliant_weeks: f.streak,
            promotion_requires_vp_approval: f.vp_hold,
            decision_id: f.decision_id,
            explanation: f.explanation,
        }));
    }

    /// A non_compliant alert for `e`; returns whether it was sent.
    fn non_compliant_alert(
        &self,
        i: usize,
        roster: &Roster,
        eval: &Evaluation,
        decision_id: OutputId,
        out: &mut dyn Sink,
    ) -> bool {
        let policy = &self.rules.policies[eval.policy];
        let level = escalation_level(policy, eval.streak).map(CompactString::new);
        let vp_hold = eval.streak >= policy.promotion_hold_after_weeks;
        let facts = AlertFacts {
            week: eval.week,
            streak: eval.streak,
            explanation: explain::non_compliant_alert(eval, policy, level.as_deref(), vp_hold),
            level,
            vp_hold,
            decision_id: Some(decision_id),
            alert_id: ids::decision_alert_id(AlertKind::NonCompliant, &decision_id),
        };
        self.alert(i, roster, AlertKind::NonCompliant, facts, out);
        roster.manager.is_some()
    }

    pub(super) fn emit_closed_decision(
        &mut self,
        i: usize,
        roster: &Roster,
        eval: Evaluation,
        streak_before: u32,
        out: &mut dyn Sink,
    ) {
        let decision = self.decision_value(i, roster, &eval, 0);
        let decision_id = decision.decision_id;
        let previous = self.employees[i].current;
        out.emit(Output::Decision(decision));
        if previous != Some(eval.status) {
            self.push_change(
                i,
                roster,
                eval.week,
                previous,
                eval.status,
                false,
                decision_id,
                out,
            );
        }
        let mut alerted = false;
        match eval.status {
            Status::NonCompliant => {
                alerted = self.non_compliant_alert(i, roster, &eval, decision_id, out);
            }
            Status::Compliant if streak_before >= 1 => {
                let text = explain::resolved_alert(&eval, streak_before);
                let facts = plain_facts(AlertKind::Resolved, &eval, decision_id, text);
                self.alert(i, roster, AlertKind::Resolved, facts, out);
            }
            _ => {}
        }
        let employee = &mut self.employees[i];
        employee.current = Some(eval.status);
        employee.decisions.push(DecisionRecord::new(
            eval.week,
            eval.status,
            eval.streak,
            0,
            eval.fingerprint(),
            alerted,
        ));
    }

    pub(super) fn emit_corrected_decision(
        &mut self,
        i: usize,
        k: usize,
        roster: &Roster,
        eval: Evaluation,
        out: &mut dyn Sink,
    ) {
        let old = self.employees[i].decisions[k];
        let revision = old.revision().saturating_add(1);
        let decision = self.decision_value(i, roster, &eval, u32::from(revision));
        let decision_id = decision.decision_id;
        out.emit(Output::Decision(decision));
        let mut alerted = old.alerted();
        if old.alerted() && eval.status != Status::NonCompliant {
            let text = explain::retracted_alert(&eval);
            let facts = plain_facts(AlertKind::Retracted, &eval, decision_id, text);
            self.alert(i, roster, AlertKind::Retracted, facts, out);
            alerted = false;
        } else if eval.status == Status::NonCompliant && old.status() != Status::NonCompliant {
            alerted = self.non_compliant_alert(i, roster, &eval, decision_id, out);
        }
        self.employees[i].decisions[k] = DecisionRecord::new(
            eval.week,
            eval.status,
            eval.streak,
            revision,
            eval.fingerprint(),
            alerted,
        );
    }

    /// After corrections: a compliance change when the latest week's status moved.
    pub(super) fn emit_status_correction(&mut self, i: usize, roster: &Roster, out: &mut dyn Sink) {
        let employee = &self.employees[i];
        let Some(latest) = employee.decisions.last().copied() else {
            return;
        };
        let previous = employee.current;
        if previous == Some(latest.status()) {
            return;
        }
        let decision_id =
            ids::decision_id(&employee.id, latest.week(), u32::from(latest.revision()));
        self.push_change(
            i,
            roster,
            latest.week(),
            previous,
            latest.status(),
            true,
            decision_id,
            out,
        );
        self.employees[i].current = Some(latest.status());
    }

    #[allow(clippy::too_many_arguments)]
    fn push_change(
        &self,
        i: usize,
        roster: &Roster,
        week: Week,
        previous: Option<Status>,
        status: Status,
        correction: bool,
        decision_id: OutputId,
        out: &mut dyn Sink,
    ) {
        out.emit(Output::Change(ComplianceChange {
            schema_version: SCHEMA_VERSION,
            change_id: ids::change_id(&decision_id),
            employee_id: EmployeeId::from_parsed(&self.employees[i].id),
            week,
            previous_status: previous,
            status,
            correction,
            decision_id,
            manager_id: roster.manager.map(|m| self.interner.owned(m)),
            org: self.interner.owned(roster.org),
        }));
    }

    pub(super) fn emit_at_risk(
        &self,
        i: usize,
        roster: &Roster,
        week: Week,
        risk: AtRisk,
        out: &mut dyn Sink,
    ) {
        let employee = &self.employees[i];
        let facts = AlertFacts {
            week,
            streak: employee.streak_before(week),
            level: None,
            vp_hold: false,
            decision_id: None,
            alert_id: ids::at_risk_alert_id(&employee.id, week),
            explanation: explain::at_risk_alert(week, risk),
        };
        self.alert(i, roster, AlertKind::AtRisk, facts, out);
    }
}
