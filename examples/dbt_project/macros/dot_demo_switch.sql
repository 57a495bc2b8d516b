{#-
  dot_demo_switch(name): true when the project var `name` is switched on.

  Accepts what --vars may deliver: YAML/JSON booleans, "true"/"1"/"yes" strings, 1.
  Used by the failure switches (dot_demo_fail_test, dot_demo_fail_model,
  dot_demo_revenue_fan_out). Called at compile time, so flipping a switch never changes
  the project's node graph.
-#}
{% macro dot_demo_switch(name) -%}
  {%- set value = var(name, false) -%}
  {%- if value is string -%}
    {{ return(value | trim | lower in ['true', '1', 'yes', 'on']) }}
  {%- else -%}
    {{ return(value in [true, 1]) }}
  {%- endif -%}
{%- endmacro %}
