-- grain: one row per refund, the version in effect at the end of the as-of date
-- primary key: refund_id
-- The version in effect at the end of the as-of date: loaded from a folder dt <= D and
-- not yet replaced by a higher-ranked version (greatest last_updated_at, then the later
-- folder, then the later record; SPEC 3.1). The loader keeps _superseded_on up to date,
-- so no build has to rank the whole history again.
with latest as (
    select *
    from raw.refunds
    where _load_date <= getvariable('as_of_date')
      and (_superseded_on is null or _superseded_on > getvariable('as_of_date'))
),

final as (
    select
        refund_id,
        order_id,
        refunded_at,
        amount,
        reason,
        last_updated_at,
    from latest
)

select * from final
