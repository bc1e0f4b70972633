-- grain: one row per buyer message, the version in effect at the end of the as-of date
-- primary key: message_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.messages
    where _load_date <= getvariable('as_of_date')
),

latest as (
    select *
    from versions
    qualify row_number() over (
        partition by message_id
        order by last_updated_at desc, _load_date desc, _line desc
    ) = 1
),

final as (
    select
        message_id,
        thread_id,
        seller_id,
        order_id,
        received_at,
        first_response_at,
        no_response_needed,
        last_updated_at,
        cast(received_at as date) as received_date,
    from latest
)

select * from final
