-- grain: one row per policy or performance notice, the version in effect at the end of the as-of date
-- primary key: notice_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.notices
    where _load_date <= getvariable('as_of_date')
),

latest as (
    select *
    from versions
    qualify row_number() over (
        partition by notice_id
        order by last_updated_at desc, _load_date desc, _line desc
    ) = 1
),

final as (
    select
        notice_id,
        seller_id,
        issued_at,
        category,
        severity,
        subject,
        read_at,
        resolved_at,
        last_updated_at,
        cast(issued_at as date) as issued_date,
    from latest
)

select * from final
