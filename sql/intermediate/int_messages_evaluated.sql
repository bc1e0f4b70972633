-- grain: one row per buyer message known at the as-of date
-- primary key: message_id
-- Response-time outcomes of SPEC 3.3: a message is due unless marked no_response_needed
-- or unanswered and received after the as-of date's 00:00:00 (its 24 hours are not over).
-- The buyer's verdict on the reply (`buyer_verdict`) counts as known at the as-of date:
-- it arrives as a later version of the message.
with messages as (
    select * from staging.stg_messages
),

final as (
    select
        message_id,
        thread_id,
        seller_id,
        order_id,
        received_at,
        received_date,
        first_response_at,
        no_response_needed,
        first_response_at is not null as is_answered,
        -- Whole seconds: integer sums are exact whatever the order of aggregation.
        date_diff('second', received_at, first_response_at) as response_seconds,
        coalesce(first_response_at - received_at <= interval 24 hours, false)
            as is_answered_within_24h,
        not no_response_needed
        and not (
            first_response_at is null
            and received_at > cast(getvariable('as_of_date') as timestamp)
        ) as is_due,
        buyer_verdict is not null as has_verdict,
        coalesce(buyer_verdict = 'not_solved', false) as is_not_solved,
        1 as weight,
    from messages
)

select * from final
