"""The feedback page's template: nbgrader's, with the parts still to be graded by hand said so.

nbgrader's feedback template (``feedback/index.html.j2`` in nbgrader's formgrader templates)
prints every graded cell as ``Score: <score> / <points>``, where the score comes from the
gradebook's ``Grade.score``: the hand-given score, else the autograder's, else 0. So a written
answer nobody has graded yet reads ``0.0 / 2.0``, as if it had been marked wrong.

:data:`FEEDBACK_TEMPLATE` extends nbgrader's template and prints such a cell (one flagged
``awaiting_hand_grading`` by :class:`~notebook_grader.pipeline.feedback_exporter.GetGradesAndPending`)
as ``Score: awaiting hand grading / 2.0``, in the table of contents and on the cell, and adds
to the notebook's total how many points are still to be graded (the total is provisional).
Everything else is nbgrader's markup, character for character: a page with nothing awaiting
a human is exactly the page nbgrader's template renders.

Jinja macros cannot be overridden by a child template (a parent's blocks call the parent's
own), so the blocks that print scores are restated here, with nbgrader's markup, around the
score macros below (the page's body, like nbgrader's, wraps the classic template's body: hence
``super.super()``). The template is held in this module (not a file) so that it ships with
the package whatever the packaging.
"""

# The template's lines are nbgrader's markup, kept as they are: a line break in them is output.
# ruff: noqa: E501

from __future__ import annotations

#: The name :class:`~notebook_grader.pipeline.feedback_exporter.FeedbackExporter` loads it under.
TEMPLATE_FILE = "notebook_grader/feedback.html.j2"

#: The cell metadata key (in ``cell.metadata.nbgrader``) of a score no one has given yet.
AWAITING_KEY = "awaiting_hand_grading"
#: The key, in ``resources["nbgrader"]``, of the notebook's points still to be graded by hand.
AWAITING_POINTS_KEY = "awaiting_points"
#: What the page says of a part that is still to be graded by hand.
AWAITING_TEXT = "awaiting hand grading"

FEEDBACK_TEMPLATE = r"""{%- extends 'index.html.j2' -%}

{% macro graded_points(cell) -%}
{%- if cell.metadata.nbgrader.AWAITING_KEY -%}
Score: AWAITING_TEXT / {{ cell.metadata.nbgrader.points | float | round(2) }}
{%- else -%}
Score: {{ cell.metadata.nbgrader.score | float | round(2) }} / {{ cell.metadata.nbgrader.points | float | round(2) }}
{%- endif -%}
{%- endmacro %}

{% macro graded_total(nbgrader) -%}
Score: {{ nbgrader.score | float | round(2) }} / {{ nbgrader.max_score | float | round(2) }}
{%- if nbgrader.AWAITING_POINTS_KEY -%}
, provisional: {{ nbgrader.AWAITING_POINTS_KEY | float | round(2) }} points AWAITING_TEXT
{%- endif -%}
{%- endmacro %}

{% macro graded_score(cell) -%}
  <span class="pull-right">
      {{ graded_points(cell) }} <a href="#top">(Top)</a>
  </span>
{%- endmacro %}

{% macro graded_heading(cell) -%}
{%- if cell.metadata.nbgrader.solution or cell.metadata.nbgrader.task -%}
<a name="comment-{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
{%- if cell.metadata.nbgrader.grade -%}
<a name="{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
<div class="panel-heading">
{%- if cell.metadata.nbgrader.solution -%}
  <span class="nbgrader-label">Student's answer</span>
  {%- if cell.metadata.nbgrader.grade  -%}
  {{ graded_score(cell) }}
  {%- else -%}
  <span class="pull-right"><a href="#top">(Top)</a></span>
  {%- endif -%}
{%- elif cell.metadata.nbgrader.task -%}
  <span class="nbgrader-label">Student's task</span>
  {{ graded_score(cell) }}
{%- elif cell.metadata.nbgrader.grade -%}
  <span class="nbgrader-label">Grade cell: <code>{{ cell.metadata.nbgrader.grade_id }}</code></span>
  {{ graded_score(cell) }}
{%- elif cell.metadata.nbgrader.task -%}
  <span class="nbgrader-label">Task: <code>{{ cell.metadata.nbgrader.grade_id }}</code></span>
  {{ graded_score(cell) }}
{%- endif -%}
</div>
{%- endmacro %}

{% block body %}
<body>
  <a name="top"></a>
  <div class="container">
    <div class="panel panel-default">
      <div class="panel-heading">
        <h4>{{ resources.nbgrader.notebook }} ({{ graded_total(resources.nbgrader) }})</h4>
        <div id="toc">
          <ol>
          {% for cell in nb.cells %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.grade and not cell.metadata.nbgrader.solution %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Test cell</a> ({{ graded_points(cell) }})</li>
            {% elif cell.cell_type == "code" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Coding free-response</a> ({{ graded_points(cell) }})</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Written response</a> ({{ graded_points(cell) }})</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.task %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Task</a> ({{ graded_points(cell) }})</li>
            {% endif %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.comment and cell.metadata.nbgrader.comment %}
            <li><a href="#comment-{{ cell.metadata.nbgrader.grade_id }}">Comment</a></li>
            {% endif %}
          {% endfor %}
          {% if resources.nbgrader.late_penalty > 0 %}
            <li class="late-penalty">Late submission penalty (Score: -{{ resources.nbgrader.late_penalty | float | round(2) }})</li>
          {% endif %}
          </ol>
        </div>
      </div>
      <div class="panel-body">
        <div id="notebook" class="border-box-sizing">
          <div class="container" id="notebook-container">
            {{ super.super() }}
          </div>
        </div>
      </div>
    </div>
  </div>
</body>
{%- endblock body %}

{% block markdowncell scoped %}
<div class="cell border-box-sizing text_cell rendered">
  {{ self.empty_in_prompt() }}

  {%- if 'nbgrader' in cell.metadata and (cell.metadata.nbgrader.solution or cell.metadata.nbgrader.grade or cell.metadata.nbgrader.task) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ graded_heading(cell) }}
    <div class="panel-body">
      <div class="text_cell_render border-box-sizing rendered_html">
        {{ cell.source  | markdown2html | strip_files_prefix }}
      </div>
    </div>
    {{ nbgrader_footer(cell) }}
  </div>

  {%- else -%}

  <div class="inner_cell">
    <div class="text_cell_render border-box-sizing rendered_html">
      {{ cell.source  | markdown2html | strip_files_prefix }}
    </div>
  </div>

  {%- endif -%}

</div>
{% endblock markdowncell %}

{% block input %}
  {%- if 'nbgrader' in cell.metadata and (cell.metadata.nbgrader.solution or cell.metadata.nbgrader.grade) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ graded_heading(cell) }}
    <div class="panel-body">
      <div class="input_area">
        {{ cell.source | highlight_code(metadata=cell.metadata) }}
      </div>
    </div>
    {{ nbgrader_footer(cell) }}
  </div>

  {%- else -%}

  <div class="inner_cell">
    <div class="input_area">
      {{ cell.source | highlight_code(metadata=cell.metadata) }}
    </div>
  </div>
  {%- endif -%}

{% endblock input %}
""".replace("AWAITING_POINTS_KEY", AWAITING_POINTS_KEY).replace("AWAITING_KEY", AWAITING_KEY) \
    .replace("AWAITING_TEXT", AWAITING_TEXT)
