-- Workout start and stop events, valid ones only, each event once (insert-new on all its fields:
-- the same event sent again by the app is one event).
{{ config(incremental_strategy='insert_new', unique_key=['user_id', 'workout_id', 'session_id', 'action', 'event_time']) }}

select
  user_id,
  workout_id,
  session_id,
  action,
  "timestamp" as event_time,
  _lake_batch
from {{ stream(ref('workout')) }}
where user_id is not null
  and workout_id is not null
  and session_id is not null
  and action in ('start', 'stop')
  and "timestamp" is not null
