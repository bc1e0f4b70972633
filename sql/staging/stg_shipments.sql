-- grain: one row per shipped order, the version in effect at the end of the as-of date
-- primary key: order_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.shipments
    where _load_date <= getvariable('as_of_date')
),

latest as (
    select *
    from versions
    qualify row_number() over (
        partition by order_id
        order by last_updated_at desc, _load_date desc, _line desc
    ) = 1
),

final as (
    select
        order_id,
        ship_confirmed_at,
        carrier,
        tracking_id,
        first_scan_at,
        delivered_at,
        last_updated_at,
    from latest
)

select * from final
