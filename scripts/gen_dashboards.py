#!/usr/bin/env python3
"""Writes dashboards/*.json (Grafana 10/11) from the panel list below.

Edit this file, not the JSON: `python3 scripts/gen_dashboards.py` rewrites
both dashboards, and `ctest -R dashboards_generated` fails when the committed
JSON differs from what this script produces.

Every query uses only amas_scaler_* series (docs/metrics.md) and the
variables $datasource (a Prometheus datasource) and $target.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}


def target_var(multi):
    return {
        "name": "target",
        "label": "scale target",
        "type": "query",
        "datasource": DS,
        "query": {"query": "label_values(amas_scaler_desired_replicas, target)", "refId": "target"},
        "definition": "label_values(amas_scaler_desired_replicas, target)",
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "current": {},
    }


def datasource_var():
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "refresh": 1,
    }


def panel(title, exprs, unit="short", kind="timeseries", description="", overrides=None,
          legend=None, width=12, height=8, extra=None):
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": overrides or []},
        "options": {},
        "targets": [
            {"datasource": DS, "expr": e, "legendFormat": (legend or {}).get(i, "__auto"),
             "refId": chr(ord("A") + i), "range": True, "instant": False}
            for i, e in enumerate(exprs)
        ],
        "gridPos": {"w": width, "h": height},
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"lineWidth": 2, "fillOpacity": 0}
    if extra:
        p.update(extra)
    return p


def dashed(regex):
    """An override drawing matching series as dashed threshold lines."""
    return {
        "matcher": {"id": "byRegexp", "options": regex},
        "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.lineWidth", "value": 1},
        ],
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"w": 24, "h": 1}}


def decision_panels(sel):
    return [
        panel("Desired vs current replicas",
              [f"amas_scaler_desired_replicas{{{sel}}}", f"amas_scaler_current_replicas{{{sel}}}",
               f"amas_scaler_min_replicas{{{sel}}}", f"amas_scaler_max_replicas{{{sel}}}"],
              legend={0: "desired {{target}}", 1: "current {{target}}", 2: "min {{target}}",
                      3: "max {{target}}"},
              overrides=[dashed("^(min|max) .*")],
              description="What amas-scaler wants (after behavior and bounds) against what the "
                          "target has; dashed: min/max."),
        panel("Recommendation before behavior",
              [f"amas_scaler_recommendation_raw{{{sel}}}", f"amas_scaler_desired_replicas{{{sel}}}"],
              legend={0: "raw {{target}}", 1: "desired {{target}}"},
              description="The rules' combined proposal before stabilization windows and rate "
                          "policies; the gap to desired is what behavior held back."),
        panel("Rule values against their thresholds",
              [f"amas_scaler_rule_value{{{sel}}}", f"amas_scaler_rule_threshold{{{sel}}}"],
              legend={0: "{{target}} {{rule}}", 1: "{{target}} {{rule}} {{direction}} threshold"},
              overrides=[dashed(".* threshold$")], width=24,
              description="Each scale rule's value; dashed lines are its scale_up and scale_down "
                          "thresholds (the band between them holds)."),
        panel("Rule state (0 inactive, 1 pending, 2 firing)",
              [f"amas_scaler_rule_state{{{sel}}}"], kind="state-timeline",
              legend={0: "{{target}} {{rule}} {{direction}}"},
              extra={"options": {"mergeValues": True, "showValue": "never"}}),
        panel("Why scaling is limited",
              [f"amas_scaler_scaling_limited{{{sel}}}"], kind="state-timeline",
              legend={0: "{{target}} {{reason}}"},
              description="1 while the reason set the desired count: stabilization, rate_policy, "
                          "max_replicas, min_replicas, paused, missing_data (every reason is "
                          "exported, 0 when it did not apply)",
              extra={"options": {"mergeValues": True, "showValue": "never"},
                     "fieldConfig": {"defaults": {"mappings": [
                         {"type": "value", "options": {"0": {"text": "no", "color": "transparent"},
                                                       "1": {"text": "limiting", "color": "orange"}}}]},
                                     "overrides": []}}),
    ]


def action_panels(sel):
    return [
        panel("Scale actions",
              [f"sum by (target, direction, result) (increase(amas_scaler_actions_total{{{sel}}}[$__rate_interval]))"],
              kind="timeseries", legend={0: "{{target}} {{direction}} {{result}}"},
              extra={"fieldConfig": {"defaults": {"unit": "short", "custom": {"drawStyle": "bars"}},
                                     "overrides": []}}),
        panel("Failed actions and drift",
              [f"sum by (target) (increase(amas_scaler_actions_total{{{sel}, result=\"failed\"}}[$__rate_interval]))",
               f"amas_scaler_drift_replicas{{{sel}}}"],
              legend={0: "failures {{target}}", 1: "drift {{target}}"}),
        panel("Action duration p95",
              [f"histogram_quantile(0.95, sum by (target, le) (rate(amas_scaler_action_duration_seconds_bucket{{{sel}}}[$__rate_interval])))"],
              unit="s", legend={0: "{{target}}"}),
    ]


def health_panels():
    return [
        panel("Rule evaluation duration p99",
              ["histogram_quantile(0.99, sum by (group, le) (rate(amas_scaler_rule_evaluation_duration_seconds_bucket[$__rate_interval])))"],
              unit="s", legend={0: "{{group}}"}, width=8),
        panel("Evaluation failures and missed iterations",
              ["sum by (group) (increase(amas_scaler_rule_evaluation_failures_total[$__rate_interval]))",
               "sum by (group) (increase(amas_scaler_rule_group_iterations_missed_total[$__rate_interval]))"],
              legend={0: "failures {{group}}", 1: "missed {{group}}"}, width=8),
        panel("Scrape duration p99",
              ["histogram_quantile(0.99, sum by (job, le) (rate(amas_scaler_scrape_duration_seconds_bucket[$__rate_interval])))"],
              unit="s", legend={0: "{{job}}"}, width=8),
        panel("Scrape targets by health",
              ["sum by (job, health) (amas_scaler_scrape_targets)"],
              legend={0: "{{job}} {{health}}"}, width=8),
        panel("Series in the store", ["amas_scaler_store_series"], legend={0: "{{instance}}"},
              width=8),
        panel("Config reload", ["amas_scaler_config_last_reload_successful"],
              kind="stat", legend={0: "{{instance}}"}, width=8,
              extra={"options": {"colorMode": "background", "graphMode": "none"},
                     "fieldConfig": {"defaults": {"mappings": [
                         {"type": "value", "options": {"0": {"text": "failed", "color": "red"},
                                                       "1": {"text": "ok", "color": "green"}}}]},
                                     "overrides": []}}),
    ]


def layout(panels):
    """Assigns ids and grid positions left to right, top to bottom."""
    x = y = 0
    row_height = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y = 0, y + row_height
            row_height = 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        row_height = max(row_height, h)
        if p["type"] == "row":
            x, y, row_height = 0, y + h, 0
    return panels


def dashboard(uid, title, description, panels, multi_target, links):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["amas", "amas-scaler"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [datasource_var(), target_var(multi_target)]},
        "annotations": {"list": []},
        "links": links,
        "panels": layout(panels),
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "dashboards")
    many = 'target=~"$target"'
    one = 'target="$target"'
    overview = dashboard(
        "amas-scaler-overview", "amas-scaler / Overview",
        "Decisions for every scale target, why they are limited, actions, and amas-scaler's own health.",
        [row("Decisions")] + decision_panels(many) + [row("Actions")] + action_panels(many) +
        [row("amas-scaler health")] + health_panels(),
        True,
        [{"title": "Target drill-down", "type": "link", "url": "/d/amas-scaler-target?${target:queryparam}&${datasource:queryparam}"}])
    target = dashboard(
        "amas-scaler-target", "amas-scaler / Scale target",
        "One scale target: its rules against their thresholds, the recommendation, behavior limits and actions.",
        [row("Decision")] + decision_panels(one) + [row("Actions")] + action_panels(one),
        False,
        [{"title": "Overview", "type": "link", "url": "/d/amas-scaler-overview?${datasource:queryparam}"}])
    os.makedirs(out_dir, exist_ok=True)
    for name, d in (("amas-scaler-overview.json", overview), ("amas-scaler-target.json", target)):
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(d, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
