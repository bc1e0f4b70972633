-- grain: one row per buyer message known at the as-of date
-- primary key: message_id
-- materialized: temp_view
-- The incremental build's int_messages_evaluated, from the message histories.
select * exclude (due_from, valid_from, valid_to)
from cxn_messages_at(getvariable('as_of_date'))
