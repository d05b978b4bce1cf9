-- Workout BPM Summary (seed 002's report): one row per completed workout with at least one
-- reading, for users with a current profile; the reading figures rounded to 2 decimals.
-- A table rebuilt every run from small, already aggregated inputs (workout_bpm_stats,
-- completed_workouts, user_bins: one row per workout or user), because late data changes old
-- rows in ways an append or a merge cannot follow: a profile update moves a user to another city
-- (all of the user's rows change) and a delete removes a user's rows.
select
  s.user_id,
  {{ utc_date('w.start_time') }} as "date",
  s.workout_id,
  s.session_id,
  u.age,
  u.sex,
  u.city,
  u.state,
  round(s.min_heartrate, 2) as min_bpm,
  round(s.avg_heartrate, 2) as avg_bpm,
  round(s.max_heartrate, 2) as max_bpm,
  s.num_recordings
from {{ ref('workout_bpm_stats') }} as s
join {{ ref('completed_workouts') }} as w
  on w.user_id = s.user_id and w.workout_id = s.workout_id and w.session_id = s.session_id
join {{ ref('user_bins') }} as u
  on u.user_id = s.user_id
