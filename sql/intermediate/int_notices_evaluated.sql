-- grain: one row per notice known at the as-of date
-- primary key: notice_id
with notices as (
    select * from staging.stg_notices
),

final as (
    select
        notice_id,
        seller_id,
        issued_at,
        issued_date,
        category,
        severity,
        subject,
        read_at,
        resolved_at,
        read_at is not null as is_read,
        resolved_at is not null as is_resolved,
        1 as weight,
    from notices
)

select * from final
