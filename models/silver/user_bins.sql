-- The report's view of a user: age band (age in full years at var age_reference_date, banded by
-- the age_bands seed), sex, city and state of the current profile. Deleted users have no row.
{{ config(materialized='table') }}

with ages as (
  select
    user_id,
    {{ age_in_years('birth_date') }} as age_years,
    sex,
    city,
    state
  from {{ ref('user_profile') }}
)

select
  a.user_id,
  b.age_band as age,
  a.sex,
  a.city,
  a.state
from ages as a
join {{ ref('age_bands') }} as b
  on (b.min_age is null or a.age_years >= b.min_age)
 and (b.max_age is null or a.age_years < b.max_age)
