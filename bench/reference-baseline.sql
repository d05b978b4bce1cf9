-- The engine's limit for the reference benchmark (bench/reference.ts): one hand-written DuckDB
-- script that computes the two gold reports of docs/reference-semantics.md straight from the
-- landing files, the way a competent engineer would write it without a framework - no ledger, no
-- lineage columns, no bronze or silver tables kept, no quarantine, only the two gold tables
-- written. `{{landing}}` is replaced by the landing folder.
--
-- Shortcuts the rules allow: copies of an envelope are byte-identical and every later step
-- deduplicates or aggregates with min/max, so the envelope dedupe of bronze is folded into them;
-- lines are read as text and checked with json_valid (read_json(ignore_errors) can lose the line
-- after a truncated one).

create schema if not exists gold;

create or replace temp table registered_users as
with lines as (
  select filename, generate_subscripts(ls, 1) as line_no, unnest(ls) as line
  from (select filename, string_split(content, chr(10)) as ls from read_text('{{landing}}/batch/registered_users/*.csv'))
),
rows as (
  select filename, line_no, string_split(line, ',') as f
  from lines
  where line_no > 1 and line <> ''
)
select user_id, device_id, mac_address
from (
  select try_cast(f[1] as bigint) as user_id, try_cast(f[2] as bigint) as device_id, f[3] as mac_address,
         try_cast(f[4] as double) as registration_timestamp, filename, line_no
  from rows
  where len(f) = 4
)
where user_id is not null and device_id is not null and mac_address <> '' and registration_timestamp is not null
qualify row_number() over (partition by user_id order by filename, line_no) = 1;

create or replace temp table gym_logs as
with lines as (
  select filename, generate_subscripts(ls, 1) as line_no, unnest(ls) as line
  from (select filename, string_split(content, chr(10)) as ls from read_text('{{landing}}/batch/gym_logins/*.csv'))
),
rows as (
  select filename, line_no, string_split(line, ',') as f
  from lines
  where line_no > 1 and line <> ''
)
select mac_address, gym, login, logout
from (
  select f[1] as mac_address, try_cast(f[2] as bigint) as gym, try_cast(f[3] as double) as login,
         try_cast(f[4] as double) as logout, filename, line_no
  from rows
  where len(f) = 4
)
where mac_address <> '' and gym is not null and login is not null and logout is not null
qualify row_number() over (partition by mac_address, gym, login order by filename, line_no) = 1;

create or replace temp table user_bins as
with changes as (
  select "partition", "offset",
         json_extract_string(value, ['$.user_id', '$.update_type', '$.timestamp', '$.dob', '$.sex', '$.address.city', '$.address.state']) as f
  from (
    select case when json_valid(j->>'value') then j->>'value' end as value, j->>'partition' as "partition", j->>'offset' as "offset"
    from (
      -- CASE, not WHERE: the optimizer may evaluate a WHERE's conditions in any order
      select case when json_valid(line) then line::json end as j
      from read_csv('{{landing}}/stream/user_info/*.jsonl', columns = {line: 'VARCHAR'}, header = false, auto_detect = false,
                    delim = chr(1), quote = '', escape = '')
    )
    where json_type(j, '$.value') = 'VARCHAR' and json_type(j, '$.topic') = 'VARCHAR'
      and json_type(j, '$.partition') in ('BIGINT', 'UBIGINT') and json_type(j, '$.offset') in ('BIGINT', 'UBIGINT')
  )
  where value is not null
),
typed as (
  select try_cast(f[1] as bigint) as user_id, f[2] as update_type, try_cast(f[3] as double) as ts,
         cast(try_strptime(f[4], '%m/%d/%Y') as date) as birth_date, f[5] as sex, f[6] as city, f[7] as state,
         "partition", "offset"
  from changes
),
latest as (
  select *
  from typed
  where user_id is not null and ts is not null
    and (update_type = 'delete'
         or (update_type in ('new', 'update') and birth_date is not null and sex is not null and city is not null and state is not null))
  qualify row_number() over (partition by user_id order by ts desc, "partition" desc, "offset" desc) = 1
),
aged as (
  select user_id, date_sub('year', birth_date, date '2024-01-01') as age, sex, city, state
  from latest
  where update_type <> 'delete'
)
select user_id,
       case when age < 18 then 'under 18' when age < 25 then '18-25' when age >= 95 then '95+'
            else cast(25 + 10 * ((age - 25) // 10) as varchar) || '-' || cast(35 + 10 * ((age - 25) // 10) as varchar) end as age,
       sex, city, state
from aged;

create or replace temp table completed_workouts as
with events as (
  select json_extract_string(value, ['$.user_id', '$.workout_id', '$.session_id', '$.action', '$.timestamp']) as f
  from (
    select case when json_valid(j->>'value') then j->>'value' end as value, j->>'partition' as "partition", j->>'offset' as "offset"
    from (
      -- CASE, not WHERE: the optimizer may evaluate a WHERE's conditions in any order
      select case when json_valid(line) then line::json end as j
      from read_csv('{{landing}}/stream/workout/*.jsonl', columns = {line: 'VARCHAR'}, header = false, auto_detect = false,
                    delim = chr(1), quote = '', escape = '')
    )
    where json_type(j, '$.value') = 'VARCHAR' and json_type(j, '$.topic') = 'VARCHAR'
      and json_type(j, '$.partition') in ('BIGINT', 'UBIGINT') and json_type(j, '$.offset') in ('BIGINT', 'UBIGINT')
  )
  where value is not null
),
typed as (
  select try_cast(f[1] as bigint) as user_id, try_cast(f[2] as bigint) as workout_id, try_cast(f[3] as bigint) as session_id,
         f[4] as action, try_cast(f[5] as bigint) as ts
  from events
)
select user_id, workout_id, session_id,
       min(ts) filter (where action = 'start') as start_time,
       max(ts) filter (where action = 'stop') as end_time
from typed
where user_id is not null and workout_id is not null and session_id is not null and ts is not null and action in ('start', 'stop')
group by user_id, workout_id, session_id
having min(ts) filter (where action = 'start') < max(ts) filter (where action = 'stop');

create or replace temp table heart_rate as
with readings as (
  select json_extract_string(value, ['$.device_id', '$.time', '$.heartrate']) as f
  from (
    select case when json_valid(j->>'value') then j->>'value' end as value, j->>'partition' as "partition", j->>'offset' as "offset"
    from (
      -- CASE, not WHERE: the optimizer may evaluate a WHERE's conditions in any order
      select case when json_valid(line) then line::json end as j
      from read_csv('{{landing}}/stream/bpm/*.jsonl', columns = {line: 'VARCHAR'}, header = false, auto_detect = false,
                    delim = chr(1), quote = '', escape = '')
    )
    where json_type(j, '$.value') = 'VARCHAR' and json_type(j, '$.topic') = 'VARCHAR'
      and json_type(j, '$.partition') in ('BIGINT', 'UBIGINT') and json_type(j, '$.offset') in ('BIGINT', 'UBIGINT')
  )
  where value is not null
),
typed as (
  select try_cast(f[1] as bigint) as device_id, try_cast(f[2] as bigint) as time, try_cast(f[3] as double) as heartrate
  from readings
)
-- one reading per (device, time); copies always carry the same rate
select device_id, time, any_value(heartrate) as heartrate
from typed
where device_id is not null and time is not null and heartrate between 20 and 250
group by device_id, time;

create or replace table gold.workout_bpm_summary as
with windows as (
  select w.*, u.device_id,
         unnest(generate_series(cast(floor(w.start_time / 3600) as bigint), cast(floor(w.end_time / 3600) as bigint))) as bucket
  from completed_workouts as w
  join registered_users as u on u.user_id = w.user_id
),
stats as (
  select w.user_id, w.workout_id, w.session_id,
         min(h.heartrate) as mn, avg(h.heartrate) as av, max(h.heartrate) as mx, count(*) as n
  from windows as w
  join (select *, cast(floor(time / 3600) as bigint) as bucket from heart_rate) as h
    on h.device_id = w.device_id and h.bucket = w.bucket and h.time between w.start_time and w.end_time
  group by w.user_id, w.workout_id, w.session_id
)
select s.user_id, cast(to_timestamp(w.start_time) at time zone 'UTC' as date) as "date", s.workout_id, s.session_id,
       b.age, b.sex, b.city, b.state,
       round(s.mn, 2) as min_bpm, round(s.av, 2) as avg_bpm, round(s.mx, 2) as max_bpm, s.n as num_recordings
from stats as s
join completed_workouts as w on w.user_id = s.user_id and w.workout_id = s.workout_id and w.session_id = s.session_id
join user_bins as b on b.user_id = s.user_id;

create or replace table gold.gym_summary as
with visits as (
  select v.*, u.user_id,
         unnest(generate_series(cast(floor(v.login / 3600) as bigint), cast(floor(v.logout / 3600) as bigint))) as bucket
  from gym_logs as v
  join registered_users as u on u.mac_address = v.mac_address
),
exercise as (
  select v.mac_address, v.gym, v.login, sum(w.end_time - w.start_time) as secs
  from visits as v
  join completed_workouts as w
    on w.user_id = v.user_id and cast(floor(w.start_time / 3600) as bigint) = v.bucket
   and w.start_time between v.login and v.logout
  group by v.mac_address, v.gym, v.login
)
select v.gym, v.mac_address, cast(to_timestamp(v.login) at time zone 'UTC' as date) as "date",
       round(sum(v.logout - v.login) / 60, 2) as minutes_in_gym,
       round(coalesce(sum(e.secs), 0) / 60, 2) as minutes_exercising
from gym_logs as v
left join exercise as e on e.mac_address = v.mac_address and e.gym = v.gym and e.login = v.login
group by all;
