-- grain: one row per order with feedback, the version in effect at the end of the as-of date
-- primary key: order_id
-- Of the versions loaded from folders dt <= as-of date, the one with the greatest
-- last_updated_at wins; ties go to the later folder, then the later record (SPEC 3.1).
with versions as (
    select *
    from raw.feedback
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
        left_at,
        rating,
        comment,
        removed,
        last_updated_at,
        cast(left_at as date) as feedback_date,
    from latest
)

select * from final
