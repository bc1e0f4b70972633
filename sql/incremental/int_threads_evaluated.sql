-- grain: one row per buyer-message thread known at the as-of date
-- primary key: thread_id
-- materialized: temp_view
-- The incremental build's int_threads_evaluated, from the thread histories.
select * exclude (valid_from, valid_to)
from cxn_threads_at(getvariable('as_of_date'))
