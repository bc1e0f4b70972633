-- grain: one row per chargeback, the version in effect at the end of the as-of date
-- primary key: chargeback_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.chargebacks
    where _load_date <= getvariable('as_of_date')
),

latest as (
    select *
    from versions
    qualify row_number() over (
        partition by chargeback_id
        order by last_updated_at desc, _load_date desc, _line desc
    ) = 1
),

final as (
    select
        chargeback_id,
        order_id,
        filed_at,
        kind,
        status,
        last_updated_at,
        cast(filed_at as date) as filed_date,
    from latest
)

select * from final
