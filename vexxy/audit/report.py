"""The HTML audit report of one analysis: one self-contained file an auditor can keep and open offline.

Inline CSS only, no script, no external request (a Content-Security-Policy says so to the browser),
and every value autoescaped, its invisible characters shown as escapes: advisory text, file paths
and package names come from outside.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from jinja2 import Environment, StrictUndefined

from vexxy.audit.diff import VexDiff
from vexxy.audit.explain import Explanation, explanation_lines

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>vexxy audit report: {{ about.partition }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #1d232b; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; vertical-align: top; padding: .25em .6em; border-bottom: 1px solid #e4e6ea; }
th { width: 12em; color: #4a5360; font-weight: 600; }
code, .path { font-family: ui-monospace, monospace; font-size: .92em; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0 .5em; border-radius: .8em; font-weight: 600; }
.affected { background: #fde2e1; color: #8a1c17; } .not_affected { background: #dff5e3; color: #1c5e2b; }
.under_investigation { background: #fff1cc; color: #6b4e00; } .fixed { background: #dde9fb; color: #1d3f7a; }
section.statement { border: 1px solid #dde; border-radius: 6px; padding: .3em 1em; margin: 1em 0; }
</style>
</head>
<body>
<h1>Audit report: <span class="path">{{ about.partition }}</span></h1>
<table class="about">
{% for label, value in about_rows %}<tr><th>{{ label }}</th><td class="path">{{ value }}</td></tr>
{% endfor %}</table>

<h2>Statements by status</h2>
<table class="counts">
<tr>{% for status, n in counts %}<th><span class="status {{ status }}">{{ status }}</span></th>{% endfor %}</tr>
<tr>{% for status, n in counts %}<td>{{ n }}</td>{% endfor %}</tr>
</table>

<h2>Lineage</h2>
<p>The materializations this VEX was made from, as Dagster recorded them.</p>
<table class="lineage">
<tr><th>asset</th><th>run</th><th>materialized</th><th>data version</th><th>code version</th><th>documents (SHA-256)</th></tr>
{% for step in lineage %}<tr>
<td>{{ step.asset }}</td><td class="path">{{ step.run_id }}</td><td>{{ step.materialized_at }}</td>
<td class="path">{{ step.data_version or "" }}</td><td class="path">{{ step.code_version or "" }}</td>
<td class="path">{% for name, sha in (step.documents or {}).items() %}{{ name }}: {{ sha }}<br>{% endfor %}</td>
</tr>{% endfor %}
</table>

{% if diff %}<h2>Changes since the previous VEX of this image</h2>
<p>{{ diff.summary() }} (previous run <span class="path">{{ diff.before.get("run_id", "?") }}</span>)</p>
{% if diff.changes %}<table class="diff"><tr><th>vulnerability</th><th>package</th><th>change</th></tr>
{% for change in diff.changes %}<tr><td>{{ change.vulnerability }}</td><td class="path">{{ change.package }}</td>
<td>{{ change.kind }}: {{ change.what | join("; ") }}</td></tr>{% endfor %}</table>{% endif %}
{% endif %}

<h2>Statements</h2>
{% for answer, rows in statements %}<section class="statement" id="s{{ loop.index }}">
<h3>{{ answer.vulnerability }} on <span class="path">{{ answer.component_purl }}</span>
<span class="status {{ answer.status }}">{{ answer.status }}</span></h3>
<table>
{% for label, value in rows %}<tr><th>{{ label }}</th><td class="path">{{ value }}</td></tr>
{% endfor %}</table>
</section>{% else %}<p>No vulnerability matched this image.</p>{% endfor %}
</body>
</html>
"""


def _shown(value: Any) -> Any:
    """Text with its invisible and control characters (bidi overrides, zero widths, escapes) shown as escapes:
    a file name or an advisory must not make the report read other than what it holds."""
    if not isinstance(value, str) or value.isprintable():
        return value
    return "".join(c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode() for c in value)


_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=False, finalize=_shown)
_STATUSES = ("affected", "under_investigation", "not_affected", "fixed")
FILES_PER_STATEMENT = 50


def render_report(
    about: dict[str, Any], explanations: list[Explanation], lineage: list[dict[str, Any]], diff: VexDiff | None = None
) -> str:
    """`about`: partition, reference, digest, run, versions (shown as given); `lineage`: one dict per upstream materialization."""
    by_status = Counter(a.status for a in explanations)
    rows = [(str(k).replace("_", " "), "" if v is None else str(v)) for k, v in about.items()]
    statements = [(a, explanation_lines(a, FILES_PER_STATEMENT, provenance=False)) for a in explanations]
    return _ENV.from_string(_TEMPLATE).render(
        about={"partition": about.get("partition", "")},
        about_rows=rows,
        counts=[(s, by_status.get(s, 0)) for s in _STATUSES],
        lineage=lineage,
        diff=diff,
        statements=statements,
    )
