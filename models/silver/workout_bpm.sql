-- The readings of the user's watch inside each completed workout (start and end inclusive).
-- A run adds the readings of workouts that are new or whose window grew, of workouts of newly
-- registered users, and the new readings that fall in any workout (late readings of old workouts
-- included). Windows only grow and readings never change, so rows are only ever added
-- (insert-new on the workout and the time).
{{ config(incremental_strategy='insert_new', unique_key=['user_id', 'workout_id', 'session_id', 'time']) }}

{% if is_incremental() %}
with windows_to_fill as (
  -- new or grown workouts
  select w.user_id, w.workout_id, w.session_id, u.device_id, w.start_time, w.end_time
  from {{ stream(ref('completed_workouts')) }} as w
  join {{ ref('users') }} as u on u.user_id = w.user_id
  union all
  -- workouts of users registered in this batch (an extract can land after the first workouts)
  select w.user_id, w.workout_id, w.session_id, u.device_id, w.start_time, w.end_time
  from {{ ref('completed_workouts') }} as w
  join {{ stream(ref('users')) }} as u on u.user_id = w.user_id
),

all_windows as (
  select w.user_id, w.workout_id, w.session_id, u.device_id, w.start_time, w.end_time
  from {{ ref('completed_workouts') }} as w
  join {{ ref('users') }} as u on u.user_id = w.user_id
)

select *, cast(null as bigint) as _lake_batch  -- stamped with the run's batch by lake
from (
  {{ readings_in_windows('windows_to_fill', ref('heart_rate'), within_span=true) }}
  union all
  {{ readings_in_windows('all_windows', stream(ref('heart_rate'))) }}
) as readings

{% else %}
-- first build: every window against every reading
with all_windows as (
  select w.user_id, w.workout_id, w.session_id, u.device_id, w.start_time, w.end_time
  from {{ stream(ref('completed_workouts')) }} as w
  join {{ stream(ref('users')) }} as u on u.user_id = w.user_id
)

select *, cast(null as bigint) as _lake_batch
from (
  {{ readings_in_windows('all_windows', stream(ref('heart_rate'))) }}
) as readings
{% endif %}
