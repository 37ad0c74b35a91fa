"""Alerts: rules checked as the read models change, each firing appended to the log as
an ``AlertRaised`` event exactly once per rule, subject and window (docs/webhooks.md)."""

from analytics_graph.alerts.evaluator import Evaluator, EvaluatorOptions
from analytics_graph.alerts.events import TYPE as ALERT_RAISED
from analytics_graph.alerts.events import Alert
from analytics_graph.alerts.rules import DEFAULT, AlertRules, Rule, rules_of, set_rules

__all__ = [
    "ALERT_RAISED",
    "DEFAULT",
    "Alert",
    "AlertRules",
    "Evaluator",
    "EvaluatorOptions",
    "Rule",
    "rules_of",
    "set_rules",
]
