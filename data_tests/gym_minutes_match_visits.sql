-- Minutes in the gym add up: per gym and device, the report's minutes equal the visits' seconds
-- / 60 (up to the rounding of each day's row). Returns the gyms and devices that do not.
with visits as (
  select gym, mac_address, sum(logout - login) / 60 as minutes
  from {{ ref('gym_logs') }}
  group by gym, mac_address
),
report as (
  select gym, mac_address, sum(minutes_in_gym) as minutes, count(*) as days
  from {{ ref('gym_summary') }}
  group by gym, mac_address
)
select v.gym, v.mac_address, v.minutes as visit_minutes, r.minutes as report_minutes
from visits as v
full join report as r on r.gym = v.gym and r.mac_address = v.mac_address
where r.minutes is null or v.minutes is null or abs(v.minutes - r.minutes) > 0.005 * r.days + 1e-9
