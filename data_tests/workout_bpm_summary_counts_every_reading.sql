-- The report counts every reading of a workout exactly once: num_recordings equals the number
-- of the workout's rows in workout_bpm. Returns the workouts where it does not.
with readings as (
  select user_id, workout_id, session_id, count(*) as n
  from {{ ref('workout_bpm') }}
  group by user_id, workout_id, session_id
)
select s.user_id, s.workout_id, s.session_id, s.num_recordings, r.n as readings_in_workout_bpm
from {{ ref('workout_bpm_summary') }} as s
left join readings as r
  on r.user_id = s.user_id and r.workout_id = s.workout_id and r.session_id = s.session_id
where r.n is distinct from s.num_recordings
