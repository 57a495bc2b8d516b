{#-
  dot_demo_switch(name): true when the environment variable `name` is switched on
  ("true", "1", "yes" or "on", in any case; unset is off).

  Used by the failure switches (DOT_DEMO_FAIL_TEST, DOT_DEMO_FAIL_MODEL,
  DOT_DEMO_REVENUE_FAN_OUT). Read only when dbt executes, never while it parses: flipping
  a switch changes neither the node graph nor anything dbt's saved parse depends on, so
  a build with a switch on reuses the parse of one without (a `--vars` would re-parse the
  whole project).
-#}
{% macro dot_demo_switch(name) -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {{ return(env_var(name, 'false') | trim | lower in ['true', '1', 'yes', 'on']) }}
{%- endmacro %}
