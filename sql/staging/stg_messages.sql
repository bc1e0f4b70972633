-- grain: one row per buyer message, the version in effect at the end of the as-of date
-- primary key: message_id
-- The version in effect at the end of the as-of date: loaded from a folder dt <= D and
-- not yet replaced by a higher-ranked version (greatest last_updated_at, then the later
-- folder, then the later record; SPEC 3.1). The loader keeps _superseded_on up to date,
-- so no build has to rank the whole history again.
with latest as (
    select *
    from raw.messages
    where _load_date <= getvariable('as_of_date')
      and (_superseded_on is null or _superseded_on > getvariable('as_of_date'))
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
        buyer_verdict,
        last_updated_at,
        cast(received_at as date) as received_date,
    from latest
)

select * from final
