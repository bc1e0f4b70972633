-- grain: one row per seller x as-of date x notice issued in the 180-day policy window
-- primary key: seller_id, as_of_date, notice_id
-- materialized: as_of
-- The notices behind policy_notices: what the newsletter lists and the JSON export
-- counts by category. Read and resolved as known at the as-of date.
with notices as (
    select * from intermediate.int_notices_evaluated
),

policy_window as (
    select * from intermediate.int_metric_windows
    where metric = 'policy_notices'
),

final as (
    select
        notices.seller_id,
        getvariable('as_of_date') as as_of_date,
        notices.notice_id,
        notices.issued_at,
        notices.category,
        notices.severity,
        notices.subject,
        notices.read_at,
        notices.resolved_at,
        notices.is_read,
        notices.is_resolved,
        not notices.is_read and not notices.is_resolved as is_unread_open,
    from notices
    join policy_window
        on notices.issued_date between policy_window.window_start and policy_window.window_end
)

select * from final
