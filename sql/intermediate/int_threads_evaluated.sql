-- grain: one row per buyer-message thread known at the as-of date
-- primary key: thread_id
-- First-contact resolution: a thread resolved by its first message has exactly one
-- message (every message counts, no_response_needed ones too).
with messages as (
    select * from intermediate.int_messages_evaluated
),

final as (
    select
        thread_id,
        min(seller_id) as seller_id,
        min(received_at) as first_received_at,
        cast(min(received_at) as date) as first_received_date,
        count(*) as messages,
        count(*) = 1 as is_single_message,
        1 as weight,
    from messages
    group by thread_id
)

select * from final
