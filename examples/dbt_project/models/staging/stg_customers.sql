-- One row per customer, renamed and typed from the raw seed.
select
    id                              as customer_id,
    first_name,
    last_name,
    first_name || ' ' || last_name  as full_name,
    lower(email)                    as email,
    cast(signed_up_at as date)      as signed_up_at
from {{ ref('raw_customers') }}
