"""The run report an auditor reads offline: ``report.html`` (one self-contained file, inline SVG timeline,
no external assets) built from the journal alone, so it can be regenerated for any past run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from srmctl.engine import events as ev
from srmctl.engine.srm_history import history_links

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#1d2330}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #d8dde6}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{text-align:left;padding:.3em .6em;
border-bottom:1px solid #eceff4;vertical-align:top}th{background:#f4f6f9}
.ok{color:#137333}.bad{color:#b3261e}.warn{color:#9a6700}.muted{color:#6b7385}
code{font:12px ui-monospace,Menlo,Consolas,monospace}dl{display:grid;grid-template-columns:max-content auto;
gap:.2em 1.2em}dt{color:#6b7385}
"""

_STATUS_CLASS = {
    "verified": "ok",
    "succeeded": "ok",
    "failed": "bad",
    "interrupted": "warn",
    "aborted": "warn",
    "not_run": "muted",
    "incomplete": "warn",
}


def _t(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _cls(status: str) -> str:
    return _STATUS_CLASS.get(status, "")


def _status(status: str) -> str:
    return f'<span class="{_cls(status)}">{escape(status)}</span>'


def _step_spans(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, datetime, datetime, str]]:
    """(step, start, end, status) for every attempt of every step, in journal order."""
    spans: list[tuple[str, datetime, datetime, str]] = []
    open_: dict[str, datetime] = {}
    last = None
    for event in events:
        at = _t(event.get("at"))
        if at is None:
            continue
        last = at
        step, kind = event.get("step"), event.get("kind")
        if step and kind == ev.STEP_STARTED:
            open_[step] = at
        elif step and kind in (ev.STEP_VERIFIED, ev.STEP_FAILED) and step in open_:
            spans.append((step, open_.pop(step), at, "verified" if kind == ev.STEP_VERIFIED else "failed"))
    spans += [(step, start, last or start, "interrupted") for step, start in open_.items()]
    return spans


def _srm_spans(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, datetime, datetime, str]]:
    """(label, start, end, status) of every plan run SRM's history reports (SRM's clock), for the timeline."""
    spans = []
    for link in history_links(events):
        start_ms, duration_ms = link.get("start_time_ms"), link.get("duration_ms")
        if not isinstance(start_ms, int) or not isinstance(duration_ms, int):
            continue
        start = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc)
        status = {"SUCCESS": "verified", "WARNINGS": "interrupted"}.get(str(link.get("result_state")), "failed")
        spans.append((f"SRM: {link.get('operation_type')}", start, start + timedelta(milliseconds=duration_ms), status))
    return spans


def timeline_svg(events: Sequence[Mapping[str, Any]]) -> str:
    """One bar per step attempt (srmctl, green/red/amber) and per plan run SRM reports (blue-edged, "SRM:"
    rows): which party did what, and when."""
    spans = [("srmctl", *span) for span in _step_spans(events)] + [("srm", *span) for span in _srm_spans(events)]
    if not spans:
        return '<p class="muted">No step ran.</p>'
    origin = min(s[2] for s in spans)
    total = max((s[3] - origin).total_seconds() for s in spans) or 1.0
    label_w, bar_w, row_h = 170, 760, 22
    rows = []
    colours = {"verified": "#34a853", "failed": "#d93025", "interrupted": "#f9ab00"}
    for index, (party, step, start, end, status) in enumerate(sorted(spans, key=lambda s: s[2])):
        x = label_w + bar_w * max(0.0, (start - origin).total_seconds()) / total
        w = max(2.0, bar_w * (end - start).total_seconds() / total)
        y = 8 + index * row_h
        seconds = (end - start).total_seconds()
        edge = ' stroke="#1a73e8" stroke-width="2"' if party == "srm" else ""
        who = "" if party == "srm" else "srmctl: "  # SRM's rows are labelled "SRM: ..." already
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(step)}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{colours[status]}"'
            f"{edge}><title>{who}{escape(step)}: {status}, {seconds:.2f}s</title></rect>"
        )
    height = 20 + len(spans) * row_h
    axis = (
        f'<text x="{label_w}" y="{height - 2}" class="muted">0s</text>'
        f'<text x="{label_w + bar_w}" y="{height - 2}" text-anchor="end">{total:.1f}s</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 10}" height="{height + 6}" '
        f'font-size="12" font-family="system-ui,sans-serif" role="img" aria-label="step timeline">'
        + "".join(rows)
        + axis
        + "</svg>"
    )


def _rto(events: Sequence[Mapping[str, Any]]) -> str:
    """Achieved RTO: from the start of the planned migration until it was verified (VMs running home)."""
    spans = [s for s in _step_spans(events) if s[0] == "plan.migrate" and s[3] == "verified"]
    if not spans:
        return "not measured (no verified plan.migrate in this run)"
    return f"{(spans[-1][2] - spans[-1][1]).total_seconds():.1f}s"


def _srm_state(link: Mapping[str, Any]) -> str:
    if link.get("unavailable"):
        return f'<span class="warn">not available: {escape(str(link["unavailable"]))}</span>'
    state = str(link.get("result_state"))
    css = {"SUCCESS": "ok", "WARNINGS": "warn"}.get(state, "bad")
    return f'<span class="{css}">{escape(state)}</span>'


def _srm_results(history: Sequence[Mapping[str, Any]], step: str) -> str:
    """SRM's results of the plan runs a step started, for the steps table."""
    return "<br>".join(
        f"{escape(str(h.get('operation_type')))}: {_srm_state(h)}" for h in history if h.get("step") == step
    )


def _ms_time(value: Any) -> str:
    if not isinstance(value, int):
        return ""
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(meta: Mapping[str, Any], events: Sequence[Mapping[str, Any]], report: Mapping[str, Any]) -> str:
    """The whole report as one HTML document. Every journal string is escaped."""
    outcome = str(report.get("outcome") or "incomplete")
    steps = report.get("steps") or []
    history = history_links(events)
    step_rows = [
        [
            escape(str(s.get("step"))),
            _status(str(s.get("status"))),
            str(s.get("actions_done", 0)),
            "" if s.get("seconds") is None else f"{s['seconds']:.2f}s",
            escape(str(s.get("message") or "")),
            _srm_results(history, str(s.get("step"))),
        ]
        for s in steps
    ]
    history_rows = [
        [
            escape(str(h.get("step"))) + (f" / {escape(str(h['substep']))}" if h.get("substep") else ""),
            escape(str(h.get("site"))),
            escape(str(h.get("operation_type"))),
            _srm_state(h),
            escape(str(h.get("username") or "")),
            _ms_time(h.get("start_time_ms")),
            "" if h.get("duration_ms") is None else f"{h['duration_ms'] / 1000:.1f}s",
            escape(str(h.get("error_count", "")) + " / " + str(h.get("warning_count", ""))),
            f"<code>{escape(str(h.get('file') or 'journal line ' + str(h.get('journal_line'))))}</code>",
        ]
        for h in history
    ]
    action_rows = []
    for e in events:
        if e.get("kind") != ev.ACTION_DONE:
            continue
        action = e.get("action") or {}
        result = ", ".join(f"{k}={v}" for k, v in (e.get("result") or {}).items())
        action_rows.append(
            [
                escape(str(e.get("at", ""))[11:23]),
                escape(str(e.get("step"))),
                escape(str(action.get("kind"))),
                escape(", ".join(action.get("targets") or [])),
                escape(str(action.get("site"))),
                f"<code>{escape(result)}</code>",
            ]
        )
    records = [e for e in events if e.get("kind") == ev.RECORD]
    bytes_rows = [
        [
            escape(str(r.get("vm"))),
            str(r.get("full_bytes", "")),
            str(r.get("transferred_bytes", "")),
            str(r.get("checksummed_bytes", "")),
        ]
        for r in records
        if r.get("record") == "replication_bytes"
    ]
    prompt_rows = [
        [escape(str(r.get("at", ""))[11:23]), escape(str(r.get("prompt"))), escape(str(r.get("answer")))]
        for r in records
        if r.get("record") == "prompt_answered"
    ]
    errors = [
        [escape(str(e.get("at", ""))[11:23]), escape(str(e.get("step"))), escape(str(e.get("error")))]
        for e in events
        if e.get("kind") == ev.STEP_FAILED
    ]
    diffs = [r for r in records if r.get("record") == "metadata_diff"]
    if diffs:
        changes = diffs[-1].get("changes") or []
        diff_html = (
            '<p class="ok">Recovery plan metadata equals the pre-failover snapshot.</p>'
            if not changes
            else "<ul>" + "".join(f"<li><code>{escape(str(c))}</code></li>" for c in changes) + "</ul>"
        )
    else:
        diff_html = '<p class="muted">No metadata comparison in this run.</p>'
    api = report.get("api_calls") or {}
    title = f"srmctl run {meta.get('run_id', '')}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<dl>
<dt>Runbook</dt><dd>{escape(str(meta.get("runbook", "")))}
<span class="muted">({escape(str(meta.get("runbook_path", "")))})</span></dd>
<dt>Outcome</dt><dd class="{_cls(outcome)}">{escape(outcome)}</dd>
<dt>Started</dt><dd>{escape(str(report.get("started") or meta.get("started", "")))}</dd>
<dt>Finished</dt><dd>{escape(str(report.get("finished") or "not finished"))}</dd>
<dt>Operator host</dt><dd>{escape(str(meta.get("host", "")))}</dd>
<dt>Achieved RTO</dt><dd>{escape(_rto(events))}</dd>
<dt>API calls</dt><dd>{escape(", ".join(f"{k}: {v}" for k, v in api.items()) or "n/a")}</dd>
</dl>
{f'<p class="bad">Error: {escape(str(report.get("error")))}</p>' if report.get("error") else ""}
<h2>Timeline</h2>
<p class="muted">Bars: srmctl's steps; rows marked "SRM:" with a blue edge: the plan runs SRM performed.</p>
{timeline_svg(events)}
<h2>Steps</h2>
{_table(["step", "status", "actions", "time", "summary", "SRM's result"], step_rows, "No steps.")}
<h2>SRM's history reports</h2>
<p class="muted">SRM's own record of each plan run srmctl started, read from the SRM server that ran it and
journaled under the step that caused it (times are SRM's).</p>
{
        _table(
            [
                "step",
                "SRM at",
                "operation",
                "result",
                "user",
                "started (UTC)",
                "duration",
                "errors / warnings",
                "evidence",
            ],
            history_rows,
            "No plan run in this run.",
        )
    }
<h2>Actions per VM</h2>
{_table(["time", "step", "action", "VMs", "site", "result"], action_rows, "No action was applied.")}
<h2>Replication: seeded vs transferred bytes</h2>
{
        _table(
            ["VM", "full copy (bytes)", "transferred (bytes)", "checksummed (bytes)"],
            bytes_rows,
            "No replication was configured in this run.",
        )
    }
<h2>Prompts answered</h2>
{_table(["time", "prompt", "answer"], prompt_rows, "No prompt was answered.")}
<h2>Errors</h2>
{_table(["time", "step", "error"], errors, "No errors.")}
<h2>Recovery plan metadata at the end</h2>
{diff_html}
<p class="muted">Generated by srmctl from the run journal ({escape(str(report.get("journal", "")))}).</p>
</body></html>
"""
