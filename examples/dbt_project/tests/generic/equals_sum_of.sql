{#-
  equals_sum_of: `column_name` must equal the sum of `columns` on every row
  (within `tolerance`, for decimal rounding). Returns the rows that don't.

  fail_switch (optional): the name of an environment variable. When it is switched on
  (see the dot_demo_switch macro), every row is returned as a failure, so the test
  fails on purpose. The switch is read at execution time: the test node, its
  unique_id and its severity are the same either way.
-#}
{% test equals_sum_of(model, column_name, columns, tolerance=0.001, fail_switch=none) %}
{%- set forced = fail_switch is not none and dot_demo_switch(fail_switch) -%}

select
    {{ column_name }} as actual,
    {{ columns | join(' + ') }} as expected
    {%- if forced %},
    '{{ fail_switch }} is on: failing on purpose' as forced_failure
    {%- endif %}
from {{ model }}
where
{%- if forced %}
    1 = 1
{%- else %}
    {{ column_name }} is null
    or abs({{ column_name }} - ({{ columns | join(' + ') }})) > {{ tolerance }}
{%- endif %}

{% endtest %}
