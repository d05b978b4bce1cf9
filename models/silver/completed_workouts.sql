-- Workouts with a start and a stop: start_time is the first start, end_time the last stop, kept
-- when start_time < end_time. New events (a late stop, a repeated start) can only move start_time
-- earlier or end_time later, so a completed workout stays completed: each run recomputes the
-- workouts that received events and merges them.
{{ config(incremental_strategy='merge', unique_key=['user_id', 'workout_id', 'session_id']) }}

with touched as (
  select distinct user_id, workout_id, session_id
  from {{ stream(ref('workouts')) }}
),

sessions as (
  select
    w.user_id,
    w.workout_id,
    w.session_id,
    min(w.event_time) filter (where w.action = 'start') as start_time,
    max(w.event_time) filter (where w.action = 'stop') as end_time
  from {{ ref('workouts') }} as w
  semi join touched as t
    on t.user_id = w.user_id and t.workout_id = w.workout_id and t.session_id = w.session_id
  group by w.user_id, w.workout_id, w.session_id
)

select
  user_id,
  workout_id,
  session_id,
  start_time,
  end_time,
  cast(null as bigint) as _lake_batch  -- lake stamps the run's batch: downstream streams read by it
from sessions
where start_time < end_time
