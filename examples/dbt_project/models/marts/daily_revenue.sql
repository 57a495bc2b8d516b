-- One row per day with at least one order: order volume and revenue.
with orders as (
    select * from {{ ref('orders') }}
)

select
    order_date,
    count(*) as number_of_orders,
    count(distinct customer_id) as number_of_customers,
    sum(amount) as gross_revenue,
    sum(case when status = 'returned' then amount else 0 end) as returned_revenue,
    sum(case when status <> 'returned' then amount else 0 end)
    {%- if dot_demo_switch('DOT_DEMO_REVENUE_FAN_OUT') %}
    -- DOT_DEMO_REVENUE_FAN_OUT is on: every order counted twice, as a join fanning out
    -- would; the model builds and its tests pass, but Dot's revenue is wrong.
    * 2
    {%- endif %} as net_revenue
    {%- if dot_demo_switch('DOT_DEMO_FAIL_MODEL') %},
    -- DOT_DEMO_FAIL_MODEL is on: reference a column that doesn't exist, so the
    -- warehouse rejects the statement and the model fails to build.
    dot_demo_fail_model_is_on
    {%- endif %}
from orders
group by order_date
