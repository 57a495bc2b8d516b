-- Daily usage of Dot, from its exported conversation history.
-- A user is active on the day they started a conversation (its partition_date, in the
-- export's time zone: UTC by default).
-- Dot's auto-review labels each conversation Issue, Abandoned, Success or OK; the labels
-- in var dot_usage_good_labels (any case) count as good.
{%- set good_labels = var('dot_usage_good_labels', ['Success', 'OK']) %}
{%- set is_good -%}
    lower(auto_review_label) in (
        {%- for label in good_labels %}'{{ label | lower }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
{%- endset %}

with conversation_versions as (
    select
        *,
        row_number() over (
            partition by conversation_id
            order by updated_at desc nulls last, partition_date desc
        ) as version_rank
    from {{ source('dot_history', 'conversations') }}
),

conversations as (
    -- an exporter re-run may write a conversation again: keep its latest version
    select * from conversation_versions where version_rank = 1
),

user_messages as (
    select
        conversation_id,
        count(distinct message_index) as user_messages
    from {{ source('dot_history', 'messages') }}
    where role = 'user'
    group by conversation_id
),

per_conversation as (
    select
        conversations.partition_date as activity_date,
        conversations.conversation_id,
        conversations.author_email,
        conversations.auto_review_label,
        coalesce(user_messages.user_messages, 0) as user_messages
    from conversations
    left join user_messages
        on conversations.conversation_id = user_messages.conversation_id
)

select
    activity_date,
    count(distinct author_email) as daily_active_users,
    count(*) as conversations,
    sum(user_messages) as user_messages,
    -- `* 1.0`, not cast(... as dbt.type_float()): that is a 4-byte FLOAT on DuckDB
    -- (2.2 came out as 2.200000047683716); this gives DOUBLE there, NUMERIC or FLOAT64
    -- elsewhere, and never integer division
    sum(user_messages) * 1.0
        / nullif(count(distinct author_email), 0) as messages_per_user,
    count(auto_review_label) as reviewed_conversations,
    sum(case when {{ is_good }} then 1 else 0 end) as good_conversations,
    sum(case when {{ is_good }} then 1 else 0 end) * 1.0
        / nullif(count(auto_review_label), 0) as good_review_share
from per_conversation
group by activity_date
