-- grain: one row per chargeback, the version in effect at the end of the as-of date
-- primary key: chargeback_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.chargebacks
    where _load_date <= getvariable('as_of_date')
),

-- arg_max over the whole row (a struct), never per column: per-column arg_max skips
-- NULLs and would resurrect a value that a newer version cleared. 3-4x faster than a
-- window with row_number() on tens of millions of versions.
latest as (
    select unnest(arg_max(versions, (last_updated_at, _load_date, _line)))
    from versions
    group by chargeback_id
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
